"""Every bad input fails with a clear error of the right type naming file and line.

Table rows: (id, files to write, extra CLI args, error type, message regex). The
files are written to tmp_path; ``{tmp}`` in a regex stands for that directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.cli import execute, main
from eval.errors import UnknownMetricError, UnsortedInputError
from schemas.errors import ConfigError, InputError, RecsysError

EXPOSURE = (
    '{"request_id":"%s","user_id":"u","ts":"2025-01-01T00:00:00Z",'
    '"items":[{"item_id":"i1","rank":1,"logging_propensity":0.5}],"context":{"tenant":"t1"}}'
)
OUTCOME = (
    '{"request_id":"%s","user_id":"u","item_id":"i1","event_type":"click",'
    '"ts":"2025-01-01T00:00:01Z"}'
)
GOOD_EXPOSURES = "\n".join(EXPOSURE % rid for rid in ("r1", "r2")) + "\n"
GOOD_OUTCOMES = OUTCOME % "r1" + "\n"
OFFLINE = "mode: offline\noffline:\n  metrics:\n    - name: precision\n      k: 2\n"
STREAM = OFFLINE + "scale:\n  mode: stream\n"
DATASET = (
    "exposures: {type: jsonl, path: '{tmp}/exposures.jsonl'}\n"
    "outcomes: {type: jsonl, path: '{tmp}/outcomes.jsonl'}\n"
)

CASES = [
    (
        "ts not RFC3339",
        {
            "exposures.jsonl": EXPOSURE % "r1"
            + "\n\n"
            + (EXPOSURE % "r2").replace("2025-01-01T00:00:00Z", "2025-01-01 00:00:00")
            + "\n"
        },
        InputError,
        r"exposures\.jsonl:3: jsonl parse error at line 3: "
        r"timestamp '2025-01-01 00:00:00' is not RFC3339",
    ),
    (
        "ts without zone",
        {"outcomes.jsonl": OUTCOME.replace("00:00:01Z", "00:00:01") % "r1" + "\n"},
        InputError,
        r"outcomes\.jsonl:1: jsonl parse error at line 1: .*not RFC3339",
    ),
    (
        "context value not a string",
        {"exposures.jsonl": (EXPOSURE % "r1").replace('"tenant":"t1"', '"tenant":7') + "\n"},
        InputError,
        r"exposures\.jsonl:1: jsonl parse error at line 1: "
        r"context value 'tenant' must be a string, got a number \(7\)$",
    ),
    (
        "line is not JSON",
        {"exposures.jsonl": GOOD_EXPOSURES + "{not json\n"},
        InputError,
        r"exposures\.jsonl:3: jsonl parse error at line 3: invalid JSON",
    ),
    (
        "known field of the wrong type",
        {"outcomes.jsonl": OUTCOME.replace('"item_id":"i1"', '"item_id":1') % "r1" + "\n"},
        InputError,
        r"outcomes\.jsonl:1: .*field 'item_id' must be a string, got a number \(1\)$",
    ),
    (
        "items not an array",
        {
            "exposures.jsonl": (EXPOSURE % "r1")
            .replace('"items":[', '"items":{"x":[')
            .replace("}],", "}]},")
            + "\n"
        },
        InputError,
        r"exposures\.jsonl:1: .*field 'items' must be an array, got an object$",
    ),
    (
        "rank as a string",
        {"exposures.jsonl": (EXPOSURE % "r1").replace('"rank":1', '"rank":"1"') + "\n"},
        InputError,
        r"exposures\.jsonl:1: .*field 'rank' must be an integer, got a string \(\"1\"\)$",
    ),
    (
        "a line that is an array",
        {"outcomes.jsonl": "[1]\n"},
        InputError,
        r"outcomes\.jsonl:1: .*an outcome must be a JSON object, got an array$",
    ),
    (
        "unknown config key",
        {"config.yaml": OFFLINE + "  slice_key: [tenant]\n"},
        ConfigError,
        r"config\.yaml:6: unknown key 'offline\.slice_key' \(known keys: .*slice_keys",
    ),
    (
        "unknown top-level config key",
        {"config.yaml": "mdoe: offline\n" + OFFLINE},
        ConfigError,
        r"config\.yaml:1: unknown key 'mdoe'",
    ),
    (
        "unknown metric lists the known ones",
        {"config.yaml": OFFLINE.replace("precision", "mrr")},
        UnknownMetricError,
        r"config\.yaml:4: offline\.metrics\[0\]: unknown metric 'mrr' \(known metrics: coverage, "
        r"diversity, hitrate, map, ndcg, novelty, precision, recall\)",
    ),
    (
        "k is zero",
        {"config.yaml": OFFLINE.replace("k: 2", "k: 0")},
        ConfigError,
        r"config\.yaml:4: offline\.metrics\[0\]: metric 'precision': k must be > 0, got 0",
    ),
    (
        "k is negative",
        {"config.yaml": OFFLINE.replace("k: 2", "k: -3")},
        ConfigError,
        r"k must be > 0, got -3",
    ),
    (
        "k is not an integer",
        {"config.yaml": OFFLINE.replace("k: 2", "k: two")},
        ConfigError,
        r"config\.yaml:5: offline\.metrics\[0\]\.k must be an integer, got 'two'",
    ),
    (
        "metrics missing in offline mode",
        {"config.yaml": "mode: offline\n"},
        ConfigError,
        r"offline\.metrics is required",
    ),
    (
        "duplicate YAML key",
        {"config.yaml": OFFLINE + "mode: ope\n"},
        ConfigError,
        r"config\.yaml:6: mapping key 'mode' already defined",
    ),
    (
        "unknown enum value",
        {"config.yaml": OFFLINE + "ope:\n  unit: session\n"},
        ConfigError,
        r"config\.yaml:7: ope\.unit must be one of request, item, got 'session'",
    ),
    (
        "unknown mode",
        {"config.yaml": OFFLINE.replace("mode: offline", "mode: offlin")},
        ConfigError,
        r"config\.yaml:1: mode must be one of offline, experiment, ope, interleaving, aa-check, "
        r"got 'offlin'",
    ),
    (
        "YAML syntax error",
        {"config.yaml": OFFLINE + "ope: [unclosed\n"},
        ConfigError,
        r"config\.yaml:7: invalid YAML: .*\(column 1\)",
    ),
    (
        "unknown correction method",
        {"config.yaml": OFFLINE + "experiment:\n  multiple_comparisons: {method: holm}\n"},
        ConfigError,
        r"config\.yaml:7: experiment\.multiple_comparisons\.method must be one of "
        r"bonferroni, fdr_bh, none, got 'holm'",
    ),
    (
        "time split without a bound",
        {
            "config.yaml": OFFLINE + "  time_split:\n    train: {start: '2024-12-01T00:00:00Z', "
            "end: '2024-12-31T00:00:00Z'}\n    test: {start: '2025-01-01T00:00:00Z'}\n"
        },
        ConfigError,
        r"config\.yaml:8: offline\.time_split\.test\.end is required",
    ),
    (
        "time split train overlapping test",
        {
            "config.yaml": OFFLINE + "  time_split:\n    train: {start: '2024-12-01T00:00:00Z', "
            "end: '2025-01-02T00:00:00Z'}\n    test: {start: '2025-01-01T00:00:00Z', "
            "end: '2025-01-31T00:00:00Z'}\n"
        },
        ConfigError,
        r"config\.yaml:7: offline\.time_split: train\.end must be <= test\.start",
    ),
    (
        "time split bound not RFC3339",
        {"config.yaml": OFFLINE + "  time_split:\n    test: {start: 'yesterday'}\n"},
        ConfigError,
        r"config\.yaml:7: offline\.time_split\.test: timestamp 'yesterday' is not RFC3339",
    ),
    (
        "unquoted time split bound without a zone",
        {"config.yaml": OFFLINE + "  time_split:\n    test: {start: 2025-01-01T00:00:00}\n"},
        ConfigError,
        r"config\.yaml:7: offline\.time_split\.test\.start: timestamp .* has no zone",
    ),
    (
        "unsorted exposures in stream mode",
        {
            "config.yaml": STREAM,
            "exposures.jsonl": "\n".join(EXPOSURE % rid for rid in ("r1", "r3", "r2")) + "\n",
        },
        UnsortedInputError,
        r"exposures\.jsonl:3: exposures must be sorted ascending by request_id "
        r".*'r2' comes after 'r3'",
    ),
    (
        "unsorted outcomes in stream mode",
        {
            "config.yaml": STREAM,
            "outcomes.jsonl": "\n".join(OUTCOME % rid for rid in ("r2", "r1")) + "\n",
        },
        UnsortedInputError,
        r"outcomes\.jsonl:2: outcomes must be sorted ascending by request_id",
    ),
    (
        "time split in stream mode",
        {
            "config.yaml": OFFLINE
            + "  time_split:\n"
            + "    train: {start: '2024-12-01T00:00:00Z', end: '2024-12-31T00:00:00Z'}\n"
            + "    test: {start: '2025-01-01T00:00:00Z', end: '2025-01-31T00:00:00Z'}\n"
            + "scale:\n  mode: stream\n"
        },
        ConfigError,
        r"offline\.time_split is not supported with scale\.mode stream",
    ),
    (
        "duckdb scale mode without duckdb",
        {"config.yaml": OFFLINE + "scale: {mode: duckdb}\n"},
        ConfigError,
        r"config\.yaml:6: scale\.mode duckdb is not available in this build",
    ),
    (
        "OPE in stream mode",
        {"config.yaml": "mode: ope\nscale: {mode: stream}\n"},
        ConfigError,
        r"mode ope is not supported with scale\.mode stream",
    ),
    (
        "OPE without usable propensities",
        {
            "config.yaml": "mode: ope\n",
            "exposures.jsonl": (EXPOSURE % "r1").replace(',"logging_propensity":0.5', "") + "\n",
        },
        InputError,
        r"no valid samples for OPE",
    ),
    (
        "unknown dataset key",
        {"dataset.yaml": DATASET + "exposure: {type: jsonl, path: x}\n"},
        ConfigError,
        r"dataset\.yaml:3: unknown key 'exposure' "
        r"\(known keys: assignments, exposures, interleaving, outcomes\)",
    ),
    (
        "unknown source type",
        {
            "dataset.yaml": DATASET.replace(
                "type: jsonl, path: '{tmp}/outcomes.jsonl'", "type: csv, path: o.csv"
            )
        },
        ConfigError,
        r"dataset\.yaml:2: outcomes: unknown source type 'csv' "
        r"\(known: duckdb, jsonl, kafka, parquet, postgres\)",
    ),
    (
        "kafka source without a topic",
        {
            "dataset.yaml": DATASET.replace(
                "type: jsonl, path: '{tmp}/outcomes.jsonl'",
                "type: kafka, bootstrap: 'localhost:9092'",
            )
        },
        ConfigError,
        r"outcomes: type kafka needs bootstrap and topic",
    ),
    (
        "source missing for the mode",
        {"dataset.yaml": DATASET.split("\n")[0] + "\n"},
        ConfigError,
        r"the dataset has no 'outcomes' source, which this mode needs",
    ),
    (
        "input file missing",
        {"dataset.yaml": DATASET.replace("outcomes.jsonl", "nope.jsonl")},
        InputError,
        r"nope\.jsonl: cannot open outcomes",
    ),
    (
        "input path is a directory",
        {"dataset.yaml": DATASET.replace("'{tmp}/outcomes.jsonl'", "'{tmp}'")},
        InputError,
        r": cannot open outcomes: Is a directory",
    ),
]


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    defaults = {
        "exposures.jsonl": GOOD_EXPOSURES,
        "outcomes.jsonl": GOOD_OUTCOMES,
        "config.yaml": OFFLINE,
        "dataset.yaml": DATASET,
    }
    for name, text in {**defaults, **files}.items():
        (tmp_path / name).write_text(text.replace("{tmp}", str(tmp_path)), encoding="utf-8")


def _argv(tmp_path: Path) -> list[str]:
    return [
        "run",
        "--dataset",
        str(tmp_path / "dataset.yaml"),
        "--config",
        str(tmp_path / "config.yaml"),
        "--output",
        str(tmp_path / "out" / "report.json"),
    ]


@pytest.mark.parametrize(
    ("files", "error", "pattern"),
    [pytest.param(files, error, pattern, id=name) for name, files, error, pattern in CASES],
)
def test_bad_input_fails_clearly(
    tmp_path: Path, files: dict[str, str], error: type[RecsysError], pattern: str
) -> None:
    _write(tmp_path, files)
    with pytest.raises(error) as caught:
        execute(_argv(tmp_path), env={})
    assert re.search(pattern, str(caught.value)), str(caught.value)
    assert not (tmp_path / "out" / "report.json").exists()


def test_the_defaults_of_the_table_are_valid(tmp_path: Path) -> None:
    """The table's baseline files run cleanly, so each row fails for its own reason only."""
    _write(tmp_path, {})
    assert execute(_argv(tmp_path), env={}) == 0


def test_main_turns_errors_into_exit_1_with_the_message_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, {"config.yaml": OFFLINE.replace("k: 2", "k: 0")})
    assert main(_argv(tmp_path), env={}) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(r"recsys-eval: error: .*config\.yaml:4: .*k must be > 0", captured.err)


def test_usage_errors_exit_1_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's usual exit 2 would read as decision "hold"; usage errors are exit 1."""
    assert main(["run", "--dataset", "d.yaml"], env={}) == 1
    assert "the following arguments are required" in capsys.readouterr().err
