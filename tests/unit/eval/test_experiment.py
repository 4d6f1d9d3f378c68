"""Experiment analysis: counts, guardrails, SRM, CUPED, power, decisions and A/A (spec §3.5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from eval.experiment import guardrails, variant_stats
from eval.join import Case
from eval.records import Exposure, ExposureItem, Outcome
from tests.unit.eval.conftest import RunCli
from tests.unit.eval.support import DECISION_SCHEMA, EVAL_DATA, experiment_files

BASE = """mode: experiment
experiment:
  experiment_id: exp
  control_variant: A
  primary_metrics: [ctr]
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _case(rid: str, clicks: int, latency: float | None = None, empty: bool = False) -> Case:
    items = () if empty else (ExposureItem("i1", 1),)
    exposure = Exposure.of(rid, "u", None, items, {}, latency)
    return Case(exposure, tuple(Outcome(rid, "u", "i1", "Click", None) for _ in range(clicks)))


def test_ctr_counts_click_events_and_can_exceed_one() -> None:
    """Quirk §9.4 kept: 3 clicks on one exposure is ctr 3; the per-request view says 1."""
    (stats,) = variant_stats([("A", _case("r1", 3))])
    assert (stats.clicks, stats.ctr, stats.clicked_requests) == (3, 3.0, 1)


def test_guardrail_p95_is_the_lower_nearest_rank_and_zero_disables() -> None:
    cases = [("A", _case(f"r{i}", 0, float(i))) for i in range(1, 21)]
    cases.append(("A", _case("r-empty", 0, None, empty=True)))
    (result,) = guardrails(cases, max_latency_p95_ms=18.5, max_error_rate=0, max_empty_rate=0)
    # 20 latencies 1..20: index int(19·0.95) = 18 → 19 ms; the exposure without latency is left out
    assert result.latency_p95_ms == 19.0
    assert not result.pass_latency
    assert result.empty_rate == pytest.approx(1 / 21)
    assert result.pass_empty_rate and result.pass_error_rate  # thresholds 0 = disabled


def _arms(a_clicks: list[int], b_clicks: list[int], b_latency: float = 50.0) -> dict[str, Any]:
    return {"A": [(c, 50.0) for c in a_clicks], "B": [(c, b_latency) for c in b_clicks]}


def _decision(tmp_path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((tmp_path / "report.json.decision.json").read_text())
    schema = json.loads(DECISION_SCHEMA.read_text())
    assert list(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(document)) == []
    return document


def test_decision_ship_when_the_candidate_does_not_regress(tmp_path: Path, run_cli: RunCli) -> None:
    dataset = experiment_files(tmp_path, _arms([1, 0, 0, 0], [1, 1, 1, 0]))
    code, report = run_cli(dataset, _config(tmp_path, BASE + "  decision: {enabled: true}\n"))
    assert code == 0
    decision = _decision(tmp_path)
    assert (decision["decision"], decision["candidate_variant"]) == ("ship", "B")
    assert decision["primary_metrics"][0]["delta"] == pytest.approx(0.75 - 0.25)
    assert decision["dataset_window"] == {
        "start": "2025-01-01T00:00:01Z",
        "end": "2025-01-01T00:00:08Z",
    }
    assert decision["versions"] == {"binary_version": "test", "git_commit": "deadbeef"}
    assert report is not None and report["experiment"]["decision"]["decision"] == "ship"


def test_decision_fail_below_the_primary_threshold_ignores_p_values(
    tmp_path: Path, run_cli: RunCli
) -> None:
    dataset = experiment_files(tmp_path, _arms([1, 0, 0, 0], [1, 1, 1, 0]))
    text = BASE + "  decision: {enabled: true, primary_thresholds: {ctr: 0.6}}\n"
    code, _ = run_cli(dataset, _config(tmp_path, text))
    assert code == 3
    decision = _decision(tmp_path)
    assert (decision["decision"], decision["reason"]) == ("fail", "primary metric regression")


def test_decision_hold_on_a_guardrail_regression(tmp_path: Path, run_cli: RunCli) -> None:
    dataset = experiment_files(tmp_path, _arms([0, 0], [1, 1], b_latency=250.0))
    text = BASE + (
        "  guardrails: {max_latency_p95_ms: 100}\n"
        "  decision: {enabled: true, guardrail_gate: true}\n"
    )
    code, _ = run_cli(dataset, _config(tmp_path, text))
    assert code == 2
    assert _decision(tmp_path)["reason"] == "guardrail regression"


def test_decision_hold_on_srm_and_the_srm_block(tmp_path: Path, run_cli: RunCli) -> None:
    # 2 vs 8 assignments (6 of B's are assignment-only, matched case-insensitively as EXP):
    # χ² = 2·(2−5)²/5 = 3.6, p = erfc(√1.8) ≈ 0.0578 < alpha 0.1 with n = 10 ≥ min_sample 5
    dataset = experiment_files(tmp_path, _arms([0, 0], [1, 1]), extra_assignments=6)
    text = BASE + (
        "  srm: {enabled: true, alpha: 0.1, min_sample: 5, gate_enabled: true}\n"
        "  decision: {enabled: true, output_path: '" + str(tmp_path / "d.json") + "'}\n"
    )
    code, report = run_cli(dataset, _config(tmp_path, text))
    assert code == 2
    assert report is not None
    srm = report["experiment"]["srm"]["global"]
    assert srm["observed"] == {"A": 2, "B": 8} and srm["detected"] is True
    assert srm["p_value"] == pytest.approx(0.05777957112359715, rel=1e-9)
    assert json.loads((tmp_path / "d.json").read_text())["reason"] == "srm detected"


def test_tiny_dataset_srm_power_and_request_ctr(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    shipped = (EVAL_DATA / "configs" / "eval" / "experiment.default.yaml").read_text()
    text = shipped + ("  srm: {enabled: true}\n  request_ctr: {enabled: true}\n").replace(
        "  ", "  ", 1
    )
    config = _config(tmp_path, text)
    code, report = run_cli(tiny_dataset, config)
    assert code == 0 and report is not None
    exp = report["experiment"]
    # spec §2.4 worked numbers with the shipped config
    assert exp["power"]["sample_size_per_variant"] == 14751
    assert exp["power"]["estimated_days"] == pytest.approx(2.9502)
    # tiny assignments A=2, B=1: p = 0.5637028616507731, below min_sample 100 → not detected
    assert exp["srm"]["global"]["p_value"] == pytest.approx(0.5637028616507731, abs=1e-12)
    assert exp["srm"]["global"]["detected"] is False and exp["srm"]["min_sample"] == 100
    # per-request CTR: A has r1 clicked of r1, r3; B has no click on r2
    rates = {v["variant"]: v for v in exp["request_ctr"]["variants"]}
    assert (rates["A"]["clicked_requests"], rates["A"]["requests"], rates["A"]["value"]) == (
        1,
        2,
        0.5,
    )
    assert rates["B"]["value"] == 0
    assert exp["request_ctr"]["lifts"][0]["absolute"]["value"] == -0.5
    # the original's event CTR is still there, unchanged
    assert [v["ctr"] for v in exp["variants"]] == [0.5, 0]


def test_cuped_on_the_tiny_dataset_by_hand(
    tmp_path: Path, tiny_dataset: Path, run_cli: RunCli
) -> None:
    text = (
        BASE.replace("exp\n", "exp_123\n")
        + "  cuped: {enabled: true, covariate_key: pre_period_ctr}\n"
    )
    code, report = run_cli(tiny_dataset, _config(tmp_path, text))
    assert code == 0 and report is not None
    # x = pre_period_ctr (r1 A .08, r2 B .05, r3 A .04); clicked r1 only; converted r2 only
    x, click, conv = [0.08, 0.05, 0.04], [1, 0, 0], [0, 1, 0]
    mx = sum(x) / 3
    var = sum((v - mx) ** 2 for v in x) / 3
    theta_ctr = sum((a - mx) * (b - 1 / 3) for a, b in zip(x, click, strict=True)) / 3 / var
    theta_cvr = sum((a - mx) * (b - 1 / 3) for a, b in zip(x, conv, strict=True)) / 3 / var
    cup = report["experiment"]["cuped"]
    assert cup["theta_ctr"] == pytest.approx(theta_ctr)
    assert cup["theta_conversion_rate"] == pytest.approx(theta_cvr)
    assert cup["coverage_rate"] == 1
    a, b = report["experiment"]["variants"]
    assert a["ctr_adjusted"] == pytest.approx(0.5 - theta_ctr * (0.06 - mx))
    assert b["conversion_rate_adjusted"] == pytest.approx(1 - theta_cvr * (0.05 - mx))


def test_aa_check_flags_false_positives(tmp_path: Path, run_cli: RunCli) -> None:
    """20 segments where B's 3 requests all click and A's 3 never do.

    Per segment p̂ = 1/2, z = 1/√(¼·⅔) = 2.449, p = 0.0143 (below .05, not .01); the
    global 60 vs 60 test is far below .001. With n = 21 ctr tests, n·0.05 = 1.05 ≥ 1 and
    21 > 2.5·1.05, so the p-values are not uniform-ish.
    """
    dataset = experiment_files(tmp_path, _arms([0] * 60, [1] * 60))
    exposures = tmp_path / "exposures.jsonl"
    lines = [json.loads(line) for line in exposures.read_text().splitlines()]
    for index, line in enumerate(lines):
        line["context"] = {"segment": f"s{index % 20:02d}"}
    exposures.write_text("".join(json.dumps(line) + "\n" for line in lines))
    text = BASE + "  slice_keys: [segment]\n"
    code, report = run_cli(dataset, _config(tmp_path, text), "--mode", "aa-check")
    assert code == 0 and report is not None
    aa = report["aa_check"]
    assert aa["total_tests"] == 42  # (global + 20 segments) × (ctr, conversion_rate)
    ctr = next(m for m in aa["metrics"] if m["metric"] == "ctr")
    assert ctr["counts"] == {"0.05": 21, "0.01": 1, "0.001": 1}
    assert ctr["by_segment"]["segment=s00"] == {"0.05": 1, "0.01": 0, "0.001": 0}
    conversion = next(m for m in aa["metrics"] if m["metric"] == "conversion_rate")
    assert conversion["counts"]["0.05"] == 0  # no conversions: SE 0, p = 1
    assert aa["uniformish"] is False
    assert report["warnings"] == ["aa_check_false_positives"]
    assert report["run_id"] == "aa-check-20250101T000000Z"


def test_aa_check_on_the_tiny_dataset_is_uniformish(
    tiny_dataset: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    text = BASE.replace("exp\n", "exp_123\n") + "  slice_keys: [tenant]\n"
    code, report = run_cli(tiny_dataset, _config(tmp_path, text), "--mode", "aa-check")
    assert code == 0 and report is not None
    # p = .386 (ctr) and .083 (conversion) globally and in tenant=t1: none below .05; n·t < 1
    assert report["aa_check"]["uniformish"] is True
    assert all(m["counts"]["0.05"] == 0 for m in report["aa_check"]["metrics"])
    assert "warnings" not in report


def test_single_variant_asks_for_two(tmp_path: Path, run_cli: RunCli) -> None:
    dataset = experiment_files(tmp_path, {"A": [(1, 10.0), (0, 10.0)]})
    code, report = run_cli(dataset, _config(tmp_path, BASE))
    assert code == 0 and report is not None
    assert (
        "Include at least two variants in the experiment."
        in (report["summary"]["executive"]["next_steps"])
    )
    assert report["experiment"]["significance"] == []


def test_decision_without_a_candidate_holds(tmp_path: Path, run_cli: RunCli) -> None:
    dataset = experiment_files(tmp_path, {"A": [(1, 10.0), (0, 10.0)]})
    code, _ = run_cli(dataset, _config(tmp_path, BASE + "  decision: {enabled: true}\n"))
    assert code == 2
    decision = _decision(tmp_path)
    assert (decision["decision"], decision["reason"]) == ("hold", "no candidate variant")


def test_html_charts_per_request_ctr_when_enabled(tmp_path: Path, run_cli: RunCli) -> None:
    dataset = experiment_files(tmp_path, _arms([1, 0, 0, 0], [1, 1, 1, 0]))
    config = _config(tmp_path, BASE + "  request_ctr: {enabled: true}\n")
    code, _ = run_cli(dataset, config, "--output-format", "html", name="r.html")
    assert code == 0
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2
    assert "per-request CTR with delta-method CI" in page
    assert "<title>B: 0.75</title>" in page  # 3 of 4 of B's requests have a click


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_context_variant_fallback_counts_exposures_without_an_assignment(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """One assignment per user (r1 only); r2, r3 carry their arm in the exposure context.

    Off (the original): only r1 is analysed. On: r1 from its record, r2 (A) and r3 (B)
    from context; r4's context names another experiment and r5's is a preview: both stay
    out. The assignment
    join rate still counts exposures *with a record* (1 of 1), as the live join does.
    """

    def exposure(rid: str, ctx: dict[str, str]) -> dict[str, Any]:
        items = [{"item_id": "i1", "rank": 1}]
        return {"request_id": rid, "user_id": "u1", "ts": "2025-01-01T00:00:01Z",
                "items": items, "context": ctx}

    arm = {"experiment_id": "EXP"}
    exposures = _jsonl(tmp_path / "e.jsonl", [
        exposure("r1", {**arm, "experiment_variant": "B"}),
        exposure("r2", {**arm, "experiment_variant": "A"}),
        exposure("r3", {**arm, "experiment_variant": "B"}),
        exposure("r4", {"experiment_id": "other", "experiment_variant": "A"}),
        # a variant the client chose (a preview) counts nowhere
        exposure("r5", {**arm, "experiment_variant": "A", "experiment_preview": "true"}),
    ])
    outcomes = _jsonl(tmp_path / "o.jsonl", [
        {"request_id": r, "user_id": "u1", "item_id": "i1", "event_type": "click",
         "ts": "2025-01-01T00:00:02Z"} for r in ("r1", "r2", "r4", "r5")
    ])
    assignments = _jsonl(tmp_path / "a.jsonl", [
        {"experiment_id": "exp", "variant": "B", "request_id": "r1", "user_id": "u1",
         "ts": "2025-01-01T00:00:00Z"}
    ])
    (tmp_path / "dataset.yaml").write_text(
        f"exposures: {{type: jsonl, path: {json.dumps(str(exposures))}}}\n"
        f"outcomes: {{type: jsonl, path: {json.dumps(str(outcomes))}}}\n"
        f"assignments: {{type: jsonl, path: {json.dumps(str(assignments))}}}\n"
    )
    dataset = tmp_path / "dataset.yaml"

    code, report = run_cli(dataset, _config(tmp_path, BASE))
    assert code == 0 and report is not None
    assert [(v["variant"], v["exposures"]) for v in report["experiment"]["variants"]] == [("B", 1)]

    fallback = BASE + "  context_variant_fallback: true\n"
    code, report = run_cli(dataset, _config(tmp_path, fallback))
    assert code == 0 and report is not None
    counts = [(v["variant"], v["exposures"], v["clicks"]) for v in report["experiment"]["variants"]]
    assert counts == [("A", 1, 1), ("B", 2, 1)]
    ji = report["data_quality"]["join_integrity"]
    assert (ji["assignments_count"], ji["assignment_join_rate"]) == (1, 1)
