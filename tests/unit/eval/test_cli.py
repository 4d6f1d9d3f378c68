"""The recsys-eval CLI: validate, version, gates and exit codes, formats, metadata, progress."""

from __future__ import annotations

import functools
import io
import json
import math
import re
import sys
from pathlib import Path

import pytest

from eval import cli
from eval.cli import execute, main
from eval.jsonl import JsonlSource
from eval.progress import ProgressBar
from eval.records import exposure_from_json
from tests.unit.eval.conftest import RunCli
from tests.unit.eval.support import EVAL_DATA, FIXTURES, TINY, write_dataset

CONFIGS = EVAL_DATA / "configs" / "eval"


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"], env={}) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(r"recsys-eval \S+ \(report version 0\.1\.0\)\n", line)
    with pytest.raises(SystemExit) as done:  # the flag prints the same line
        main(["--version"], env={})
    assert done.value.code == 0 and capsys.readouterr().out == line
    with pytest.raises(SystemExit) as done:
        main(["--help"], env={})
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(word in text for word in ("run", "validate", "version", "Exit codes"))
    with pytest.raises(SystemExit):
        main(["run", "--help"], env={})
    assert "--fixed-clock" not in capsys.readouterr().out  # test-only options stay hidden


def test_validate_accepts_the_tiny_files(capsys: pytest.CaptureFixture[str]) -> None:
    for schema, name in [
        ("exposure.v1", "exposures"),
        ("outcome.v1", "outcomes"),
        ("assignment.v1", "assignments"),
        ("ranklist.v1", "ranker_a"),
    ]:
        assert (
            main(["validate", "--schema", schema, "--input", str(TINY / f"{name}.jsonl")], env={})
            == 0
        )
    assert "3 line(s) valid" in capsys.readouterr().out


def test_validate_reports_each_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = (TINY / "outcomes.jsonl").read_text().splitlines()[0]
    bad = tmp_path / "outcomes.jsonl"
    bad.write_text(
        "\n".join(
            [
                good,
                "",
                good.replace("2025-01-01T00:00:10Z", "2025-01-01 00:00:10"),  # line 3: date-time
                "{not json",  # line 4
                good.replace('"value":1', '"value":1,"extra":true'),  # line 5: additionalProperties
                good.replace('"click"', '"view"'),  # line 6: enum
            ]
        )
        + "\n"
    )
    schema = str(EVAL_DATA / "schemas" / "outcome.v1.json")  # a path works as well as a name
    assert main(["validate", "--schema", schema, "--input", str(bad)], env={}) == 1
    err = capsys.readouterr().err
    for line in (3, 4, 5, 6):
        assert f"outcomes.jsonl:{line}: " in err
    assert "outcomes.jsonl:1:" not in err and "outcomes.jsonl:2:" not in err
    assert "is not a 'date-time'" in err and "invalid JSON" in err and "'extra'" in err
    assert err.strip().endswith("validation failed for 4 line(s)")


def test_validate_unknown_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "nope.v9", "--input", "x.jsonl"], env={}) == 1
    assert "unknown schema 'nope.v9'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            '{"type": "nonsense"}',
            "schema '{path}' is not a valid JSON Schema (draft-07): $.type: "
            "'nonsense' is not valid under any of the given schemas",
        ),
        ('{"$ref": "other.json"}', "schema '{path}': cannot resolve $ref 'other.json'"),
    ],
    ids=["invalid type", "unresolvable $ref"],
)
def test_validate_with_a_broken_schema_fails_on_one_line(
    schema: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(schema)
    argv = ["validate", "--schema", str(path), "--input", str(TINY / "exposures.jsonl")]
    assert main(argv, env={}) == 1
    captured = capsys.readouterr()
    assert captured.err == "recsys-eval: error: " + message.format(path=path) + "\n"


def test_gate_failure_writes_the_report_then_exits_1(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    config = CONFIGS / "offline.ci.yaml"  # gate precision@2 max_drop 0.001
    code, first = run_cli(tiny_dataset, config, name="first.json")
    assert code == 1  # no baseline: the gate's metric is missing from the comparison → fail
    assert first is not None and first["gates"][0]["passed"] is False
    assert first["summary"]["executive"]["decision"] == "fail"
    assert capsys.readouterr().err == (
        "recsys-eval: regression gates failed: "
        "precision@2 (no baseline to compare with: pass --baseline)\n"
    )

    code, same = run_cli(
        tiny_dataset, config, "--baseline", str(tmp_path / "first.json"), name="same.json"
    )
    assert code == 0 and same is not None
    assert same["gates"] == [
        {"metric": "precision@2", "max_drop": 0.001, "delta": 0, "passed": True}
    ]
    assert same["summary"]["executive"]["decision"] == "pass"

    better = dict(first)
    better["offline"] = {
        "metrics": [{"name": "PRECISION@2", "value": 0.5}, {"name": "recall@2", "value": 0.25}]
    }
    (tmp_path / "better.json").write_text(json.dumps(better))
    code, worse = run_cli(
        tiny_dataset, config, "--baseline", str(tmp_path / "better.json"), name="worse.json"
    )
    assert code == 1 and worse is not None
    # precision@2 fell from 0.5 to 1/6: a drop of 1/3 (printed %g: 0.333333)
    assert capsys.readouterr().err == (
        "recsys-eval: regression gates failed: precision@2 (dropped 0.333333, max_drop 0.001)\n"
    )
    executive = worse["summary"]["executive"]
    assert executive["gate_failures"][0]["delta"] == pytest.approx(1 / 6 - 0.5)
    assert executive["next_steps"][0].startswith("Investigate failing gates")
    # key deltas: largest |delta| first, with relative deltas (baseline is not 0)
    assert [d["name"] for d in executive["key_deltas"]] == ["precision@2", "recall@2"]
    assert executive["key_deltas"][1]["relative_delta"] == pytest.approx((1 / 3 - 0.25) / 0.25)

    (tmp_path / "other.json").write_text(json.dumps({**first, "offline": {"metrics": []}}))
    code, _ = run_cli(
        tiny_dataset, config, "--baseline", str(tmp_path / "other.json"), name="other_run.json"
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "recsys-eval: regression gates failed: precision@2 (missing from the baseline report)\n"
    )


def test_shipped_default_offline_config_on_tiny(tiny_dataset: Path, run_cli: RunCli) -> None:
    """All 8 metrics @10, time split (Jan 2025 test window), bootstrap; derivations inline."""
    code, report = run_cli(tiny_dataset, CONFIGS / "offline.default.yaml")
    assert code == 1  # the ndcg@10 gate has no baseline to compare with
    assert report is not None
    values = {m["name"]: m["value"] for m in report["offline"]["metrics"]}
    # r1 [i1,i2,i3] rel {i1}; r2 [i2,i3,i4] rel {i4}; r3 [] rel {}
    assert values["precision@10"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert values["recall@10"] == pytest.approx(2 / 3)
    assert values["hitrate@10"] == pytest.approx(2 / 3)
    assert values["map@10"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert values["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4) + 0) / 3)
    assert values["coverage@10"] == 1  # {i1..i4} of {i1..i4}
    # item counts i1 1, i2 2, i3 2, i4 1 of 6 entries
    novelty = (2 * -math.log2(1 / 6) + 4 * -math.log2(2 / 6)) / 6
    assert values["novelty@10"] == pytest.approx(novelty)
    entropy = -(2 * (1 / 6) * math.log2(1 / 6) + 2 * (2 / 6) * math.log2(2 / 6))
    assert values["diversity@10"] == pytest.approx(entropy / 2)
    for metric in report["offline"]["metrics"]:
        ci = metric.get("ci")
        dataset_level = metric["name"].split("@")[0] in ("coverage", "novelty", "diversity")
        assert (ci is None) == dataset_level
        if ci:
            assert ci["lower"] <= metric["value"] <= ci["upper"] and ci["level"] == 0.95
    assert "surface=home|device=ios" not in report["offline"]["by_segment"]  # keys are sorted
    assert (
        "device=ios|locale=en-US|surface=home|tenant=t1|user_type=new"
        in (report["offline"]["by_segment"])
    )
    # the highlight priority: ndcg, map, precision
    assert [h["name"] for h in report["summary"]["executive"]["highlights"]] == [
        "ndcg@10",
        "map@10",
        "precision@10",
    ]


def test_time_split_uses_only_the_test_window(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    config = tmp_path / "split.yaml"
    config.write_text(  # unquoted YAML timestamps with a zone are accepted too
        (FIXTURES / "offline.golden.yaml").read_text()
        + "  time_split:\n"
        + "    train: {start: 2024-12-01T00:00:00Z, end: '2024-12-31T00:00:00Z'}\n"
        + "    test: {start: '2025-01-01T00:00:30Z', end: 2025-01-01T01:01:30+01:00}\n"
    )
    code, report = run_cli(tiny_dataset, config)
    assert code == 0 and report is not None
    # exposures and outcomes are filtered independently by their own ts: only r2 (00:01:00)
    # and r2's conversion (00:01:20) are in the window; r1's click (00:00:10) is not
    assert report["summary"]["cases_evaluated"] == 1
    ji = report["data_quality"]["join_integrity"]
    assert (ji["exposure_count"], ji["outcome_count"], ji["outcome_join_rate"]) == (1, 1, 1)


def test_stream_mode_matches_memory_on_sorted_input(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    config = tmp_path / "stream.yaml"
    config.write_text(
        "offline:\n"
        "  metrics: [{name: precision, k: 2}, {name: recall, k: 2}, {name: coverage, k: 2}]\n"
        "  bootstrap: {enabled: true}\n"
        "scale: {mode: stream}\n"
    )
    code, report = run_cli(tiny_dataset, config)
    assert code == 0 and report is not None
    assert [m["name"] for m in report["offline"]["metrics"]] == ["precision@2", "recall@2"]
    assert report["offline"]["metrics"][0]["value"] == pytest.approx(1 / 6)
    assert report["warnings"] == [
        "dataset_metrics_skipped_in_stream_mode",
        "bootstrap_skipped_in_stream_mode",
    ]


def test_duplicates_differ_between_memory_and_stream(tmp_path: Path, run_cli: RunCli) -> None:
    lines = (TINY / "exposures.jsonl").read_text().splitlines()
    exposures = tmp_path / "dup.jsonl"
    exposures.write_text("\n".join([lines[0], lines[0], lines[1], lines[2]]) + "\n")
    dataset = write_dataset(tmp_path, exposures=exposures, outcomes=TINY / "outcomes.jsonl")
    memory_code, memory = run_cli(dataset, FIXTURES / "offline.golden.yaml", name="m.json")
    stream_config = tmp_path / "stream.yaml"
    stream_config.write_text(
        (FIXTURES / "offline.golden.yaml").read_text() + "scale: {mode: stream}\n"
    )
    stream_code, stream = run_cli(dataset, stream_config, name="s.json")
    assert memory_code == stream_code == 0 and memory is not None and stream is not None
    assert memory["summary"]["cases_evaluated"] == 3
    assert stream["summary"]["cases_evaluated"] == 4  # the duplicate is an extra case
    for report in (memory, stream):
        assert report["data_quality"]["join_integrity"]["duplicate_exposure_request_ids"] == 1


def test_history_dir_markdown_and_html(tmp_path: Path, tiny_dataset: Path, run_cli: RunCli) -> None:
    config = tmp_path / "history.yaml"
    history = tmp_path / "history"
    config.write_text(
        (FIXTURES / "offline.golden.yaml").read_text() + f"  history_dir: '{history}'\n"
    )
    code, _ = run_cli(tiny_dataset, config, "--output-format", "markdown", name="report.md")
    assert code == 0
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# Recsys Eval Report\n")
    assert "| surface=home\\|tenant=t1 | 0.25 | 0.5 |" in markdown
    stored = json.loads((history / "offline-20250101T000000Z.json").read_text())
    assert stored["offline"]["metrics"][0]["value"] == pytest.approx(1 / 6)

    code, _ = run_cli(
        tiny_dataset,
        FIXTURES / "experiment.golden.yaml",
        "--output-format",
        "html",
        name="report.html",
    )
    assert code == 0
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "ctr (click events / exposure) with 95% Poisson CI" in page
    assert (
        re.search(r"<script|<link|src=|href=|url\(|https?://(?!www\.w3\.org/2000/svg)", page)
        is None
    )


def test_fixed_clock_from_the_environment(tmp_path: Path, tiny_dataset: Path) -> None:
    output = tmp_path / "r.json"
    argv = [
        "run",
        "--dataset",
        str(tiny_dataset),
        "--config",
        str(FIXTURES / "ope.golden.yaml"),
        "--output",
        str(output),
    ]
    assert main(argv, env={"RECSYS_EVAL_FIXED_CLOCK": "2024-02-29T12:34:56Z"}) == 0
    report = json.loads(output.read_text())
    assert report["run_id"] == "ope-20240229T123456Z"
    assert report["created_at"] == "2024-02-29T12:34:56Z"
    # default metadata: a real fingerprint and the effective configuration
    assert re.fullmatch(r"[0-9a-f]{64}", report["input_dataset_fingerprint"])
    assert report["effective_config"]["mode"] == "ope"
    assert report["effective_config"]["eval"]["ope"]["clipping"] == 5
    assert report["effective_config"]["dataset"]["exposures"]["type"] == "jsonl"


def test_fingerprint_follows_the_file_contents(tmp_path: Path) -> None:
    from eval.fingerprint import dataset_fingerprint
    from eval.sources import load_dataset

    data = tmp_path / "e.jsonl"
    data.write_text((TINY / "exposures.jsonl").read_text())
    dataset = load_dataset(write_dataset(tmp_path, exposures=data))
    before = dataset_fingerprint("offline", dataset)
    assert before == dataset_fingerprint("offline", dataset)
    assert before != dataset_fingerprint("ope", dataset)
    data.write_text(data.read_text().replace("u1", "u9"))  # same size, other bytes
    assert dataset_fingerprint("offline", dataset) != before


def test_progress_bar_only_for_large_inputs(tmp_path: Path) -> None:
    line = (TINY / "exposures.jsonl").read_text().splitlines()[0]
    data = tmp_path / "e.jsonl"
    data.write_text((line + "\n") * 30)
    quiet = io.StringIO()
    list(
        JsonlSource(
            data, exposure_from_json, name="exposures", progress=ProgressBar(quiet, threshold=100)
        )
    )
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    list(
        JsonlSource(
            data,
            exposure_from_json,
            name="exposures",
            progress=ProgressBar(loud, threshold=10, interval_s=0.0, terminal=True),
        )
    )
    text = loud.getvalue()
    assert "\rexposures [" in text and text.endswith("100% 30 lines\n")


def test_progress_off_a_terminal_is_plain_lines(tmp_path: Path) -> None:
    """No \r frames in a CI log: a line at the threshold, every N lines after, one at the end.

    25 equal lines: line 10 is 10/25 = 40% of the bytes, line 20 80%."""
    line = (TINY / "exposures.jsonl").read_text().splitlines()[0]
    data = tmp_path / "e.jsonl"
    data.write_text((line + "\n") * 25)
    log = io.StringIO()
    bar = ProgressBar(log, threshold=10, every_lines=10, interval_s=0.0)  # StringIO: no tty
    list(JsonlSource(data, exposure_from_json, name="exposures", progress=bar))
    assert log.getvalue() == (
        "exposures: 40% 10 lines\nexposures: 80% 20 lines\nexposures: 100% 25 lines\n"
    )


def test_validate_shows_progress_and_ends_the_bar_before_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate reads like run: progress past the threshold; a reason starts its own line."""
    good = (TINY / "outcomes.jsonl").read_text().splitlines()[0]
    data = tmp_path / "o.jsonl"
    data.write_text((good + "\n") * 12 + "{not json\n")
    bar = ProgressBar(sys.stderr, threshold=10, interval_s=0.0, terminal=True)
    assert execute(["validate", "--schema", "outcome.v1", "--input", str(data)], {}, bar) == 1
    err = capsys.readouterr().err
    # the bar is drawn in place at lines 10..13, then ended before line 13's reason
    assert "\ro.jsonl [" in err and " 13 lines\n" + f"{data}:13: invalid JSON" in err
    assert err.endswith("100% 13 lines\nrecsys-eval: validation failed for 1 line(s)\n")


def test_an_error_met_mid_bar_starts_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        cli, "ProgressBar", functools.partial(ProgressBar, threshold=10, terminal=True)
    )
    lines = (TINY / "exposures.jsonl").read_text().splitlines()
    data = tmp_path / "e.jsonl"
    data.write_text((lines[0] + "\n") * 15 + lines[1].replace("T00:01:00Z", " 00:01") + "\n")
    dataset = write_dataset(tmp_path, exposures=data, outcomes=TINY / "outcomes.jsonl")
    config = tmp_path / "stream.yaml"  # stream mode reads line by line: no 100% line first
    config.write_text((FIXTURES / "offline.golden.yaml").read_text() + "scale: {mode: stream}\n")
    argv = ["run", "--dataset", str(dataset), "--config", str(config)]
    assert main([*argv, "--output", str(tmp_path / "r.json")], env={}) == 1
    err = capsys.readouterr().err
    assert "\rexposures [" in err
    assert f" lines\nrecsys-eval: error: {data}:16: jsonl parse error at line 16" in err


def test_small_runs_keep_stdout_and_stderr_clean(
    tiny_dataset: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_cli(tiny_dataset, FIXTURES / "ope.golden.yaml")
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_experiment_golden_in_stream_mode(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    """The tiny files are sorted by request_id, so the sorted merge-join gives the golden."""
    from tests.unit.eval.support import GOLDEN, assert_json_close

    config = tmp_path / "stream.yaml"
    config.write_text((FIXTURES / "experiment.golden.yaml").read_text() + "scale: {mode: stream}\n")
    code, report = run_cli(tiny_dataset, config)
    assert code == 0
    assert_json_close(report, json.loads((GOLDEN / "experiment.json").read_text()))


def test_experiment_id_flag_overrides_the_config(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    config = tmp_path / "other.yaml"
    config.write_text(
        (FIXTURES / "experiment.golden.yaml").read_text().replace('"exp_123"', '"exp_other"')
    )
    code, report = run_cli(tiny_dataset, config, name="none.json")
    assert code == 0 and report is not None
    assert report["summary"]["cases_evaluated"] == 0  # no assignment of exp_other
    code, report = run_cli(tiny_dataset, config, "--experiment-id", "EXP_123")
    assert code == 0 and report is not None
    assert report["experiment"]["experiment_id"] == "EXP_123"  # matched case-insensitively
    assert [v["exposures"] for v in report["experiment"]["variants"]] == [2, 1]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("ope", ["## Off-policy estimates (unit request, sum)", "| ips | 5.55556 | 61.7284 |"]),
        ("interleaving", ["## Interleaving", "| team_draft | 2 | 0 | 1 | 1 | 0 | 1 | 0.317311 |"]),
        ("experiment", ["## Guardrails", "| B | 220 | 0 | 0 | no | yes | yes |"]),
    ],
)
def test_markdown_covers_every_mode(
    mode: str, expected: list[str], tiny_dataset: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _ = run_cli(
        tiny_dataset, FIXTURES / f"{mode}.golden.yaml", "--output-format", "md", name="r.md"
    )
    assert code == 0
    text = (tmp_path / "r.md").read_text()
    for line in expected:
        assert line in text


def test_validate_exposures_names_missing_field_context_type_and_rank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (TINY / "exposures.jsonl").read_text().splitlines()[0]
    bad = tmp_path / "exposures.jsonl"
    bad.write_text(
        "\n".join(
            [
                good,
                good.replace('"user_id":"u1",', ""),  # line 2: missing required field
                good.replace('"device":"ios"', '"device":7'),  # line 3: non-string context
                good.replace('"rank":1', '"rank":0'),  # line 4: rank below 1
            ]
        )
        + "\n"
    )
    assert main(["validate", "--schema", "exposure.v1", "--input", str(bad)], env={}) == 1
    err = capsys.readouterr().err
    assert "exposures.jsonl:2: " in err and "'user_id' is a required property" in err
    assert "exposures.jsonl:3: " in err and "7 is not of type 'string'" in err
    assert "exposures.jsonl:4: " in err and "0 is less than the minimum of 1" in err
    assert "exposures.jsonl:1:" not in err
    assert err.strip().endswith("validation failed for 3 line(s)")


HUGE_K = 10**12
# The tiny set with every metric at k >= 3 (its longest list), derived by hand:
# r1 [i1,i2,i3] rel {i1}; r2 [i2,i3,i4] rel {i4}; r3 [] rel {} (counts, scores 0).
#   precision (1/3 + 1/3 + 0)/3 = 2/9; recall and hitrate (1 + 1 + 0)/3 = 2/3;
#   map (1/1 + (1/3)/1 + 0)/3 = 4/9; ndcg (1 + (1/log2 4)/1 + 0)/3 = 1/2;
#   coverage {i1..i4} / {i1..i4} = 1;
#   novelty: pop i1 1/6, i2 2/6, i3 2/6, i4 1/6 over the 6 entries, all in topK:
#     (2·log2 6 + 4·log2 3)/6;
#   diversity: counts 1,2,2,1 of 6 → H = (1/3)·log2 6 + (2/3)·log2 3, / log2 4.
ALL_K_VALUES = {
    "precision": 2 / 9,
    "recall": 2 / 3,
    "hitrate": 2 / 3,
    "map": 4 / 9,
    "ndcg": 1 / 2,
    "coverage": 1.0,
    "novelty": (2 * math.log2(6) + 4 * math.log2(3)) / 6,
    "diversity": (math.log2(6) / 3 + 2 * math.log2(3) / 3) / 2,
}


@pytest.mark.parametrize("scale", ["memory", "stream"])
def test_huge_k_gives_the_values_of_k_equal_to_the_longest_list(
    scale: str, tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    """topK is the whole list when k >= its length (spec §3.4): k = 10^12 must not size
    the hit matrix (it used to ask numpy for terabytes) and equals k = 3."""
    # stream mode has no dataset-level metrics
    names = list(ALL_K_VALUES) if scale == "memory" else ["precision", "recall", "map", "ndcg"]
    values = {}
    for k in (3, HUGE_K):
        config = tmp_path / f"k{k}.yaml"
        metrics = ", ".join(f"{{name: {name}, k: {k}}}" for name in names)
        config.write_text(f"offline:\n  metrics: [{metrics}]\nscale: {{mode: {scale}}}\n")
        code, report = run_cli(tiny_dataset, config, name=f"k{k}.json")
        assert code == 0 and report is not None
        values[k] = {m["name"].split("@")[0]: m["value"] for m in report["offline"]["metrics"]}
    assert values[HUGE_K] == values[3]
    assert values[HUGE_K] == pytest.approx({name: ALL_K_VALUES[name] for name in names})


# Hand-made lines with what Go reads leniently (spec §1.7; Go's encoding/json):
# r1's first item id has a raw 0xFF byte and its tenant is null; r2's item id and
# tenant hold lone surrogate escapes. Outcomes name i\ufffd as UTF-8 and as escape.
LENIENT_EXPOSURES = (
    b'{"request_id":"r1","user_id":"u1","ts":"2025-01-01T00:00:00Z",'
    b'"items":[{"item_id":"i\xff","rank":1},{"item_id":"i2","rank":2}],"context":{"tenant":null}}\n'
    b'{"request_id":"r2","user_id":"u2","ts":"2025-01-01T00:00:01Z",'
    b'"items":[{"item_id":"i\\udc00","rank":1}],"context":{"tenant":"t\\ud800"}}\n'
)
LENIENT_OUTCOMES = (
    b'{"request_id":"r1","user_id":"u1","item_id":"i\xef\xbf\xbd","event_type":"click",'
    b'"ts":"2025-01-01T00:00:05Z"}\n'
    b'{"request_id":"r2","user_id":"u2","item_id":"i\\ufffd","event_type":"click",'
    b'"ts":"2025-01-01T00:00:06Z"}\n'
)


@pytest.mark.parametrize("scale", ["memory", "stream"])
def test_run_reads_null_context_and_bad_unicode_as_go_does(
    scale: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """Null context value → "", bad UTF-8 and lone surrogates → U+FFFD; no abort.

    Both item ids read i\ufffd, which both outcomes click: r1 [i\ufffd, i2] has
    precision@2 1/2, r2 [i\ufffd] 1/1 (the list length divides), mean 3/4. Slices:
    r1 tenant "" (null), r2 tenant "t\ufffd".
    """
    (tmp_path / "e.jsonl").write_bytes(LENIENT_EXPOSURES)
    (tmp_path / "o.jsonl").write_bytes(LENIENT_OUTCOMES)
    dataset = write_dataset(tmp_path, exposures=tmp_path / "e.jsonl", outcomes=tmp_path / "o.jsonl")
    config = tmp_path / "c.yaml"
    config.write_text(
        "offline:\n  metrics: [{name: precision, k: 2}]\n  slice_keys: [tenant]\n"
        f"scale: {{mode: {scale}}}\n"
    )
    code, report = run_cli(dataset, config)
    assert code == 0 and report is not None
    assert report["offline"]["metrics"] == [{"name": "precision@2", "value": 0.75}]
    by_segment = report["offline"]["by_segment"]
    assert by_segment == {
        "tenant=": [{"name": "precision@2", "value": 0.5}],
        "tenant=t\ufffd": [{"name": "precision@2", "value": 1}],
    }


def test_validate_names_bad_unicode_accurately(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Strict mode still flags the lines, but says what is wrong (orjson called a 0xFF
    byte "surrogates not allowed")."""
    path = tmp_path / "e.jsonl"
    path.write_bytes(LENIENT_EXPOSURES)
    assert main(["validate", "--schema", "exposure.v1", "--input", str(path)], env={}) == 1
    err = capsys.readouterr().err
    # before the bad byte / escape of either line: '{"request_id":"rN",' 19 bytes,
    # '"user_id":"uN",' 15, '"ts":"2025-…Z",' 28, '"items":[{' 10, '"item_id":"i' 12 = 84
    assert f"{path}:1: invalid UTF-8: byte 0xff at byte 85\n" in err
    assert f"{path}:2: lone surrogate escape \\udc00 at byte 85 (not a Unicode character)" in err
    assert "surrogates not allowed" not in err


@pytest.mark.parametrize("mode", ["offline", "experiment"])
def test_an_empty_exposures_file_warns(
    mode: str, tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """No exposures, no cases: the report (exit 0 as before) says so, and so does stderr."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    dataset = write_dataset(
        tmp_path,
        exposures=empty,
        outcomes=TINY / "outcomes.jsonl",
        assignments=TINY / "assignments.jsonl",
    )
    code, report = run_cli(dataset, FIXTURES / f"{mode}.golden.yaml")
    assert code == 0 and report is not None
    assert report["summary"]["cases_evaluated"] == 0
    assert report["warnings"] == ["no_cases_evaluated"]
    assert capsys.readouterr().err == (
        "recsys-eval: warning: no cases were evaluated (empty inputs, or nothing joined or "
        "fell in the time window); every metric reads 0\n"
    )
