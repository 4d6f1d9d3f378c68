"""Report sections as plain tables (title, header, rows), shared by Markdown and HTML."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    """A titled table of already formatted cells."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def fmt(value: Any) -> str:
    """Numbers to 6 significant digits, booleans as yes/no, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(title: str, header: tuple[str, ...], rows: list[list[Any]]) -> Table:
    return Table(title, header, tuple(tuple(fmt(c) for c in row) for row in rows))


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One-line facts about the run for the top of the report."""
    summary = report.get("summary", {})
    executive = summary.get("executive", {})
    return [
        f"Run {report.get('run_id', '')} (mode {report.get('mode', '')}), "
        f"created {report.get('created_at', '')}, version {report.get('version', '')}",
        f"Cases evaluated: {summary.get('cases_evaluated', 0)}",
        f"Decision: {executive.get('decision', 'not_configured')}",
    ]


def next_steps(report: dict[str, Any]) -> list[str]:
    """The executive next steps."""
    return list(report.get("summary", {}).get("executive", {}).get("next_steps", []))


def tables(report: dict[str, Any]) -> Iterator[Table]:
    """Every table of the report, in reading order."""
    executive = report.get("summary", {}).get("executive", {})
    if executive.get("highlights"):
        yield _table(
            "Highlights",
            ("name", "value"),
            [[h["name"], h["value"]] for h in executive["highlights"]],
        )
    if executive.get("key_deltas"):
        yield _table(
            "Key deltas",
            ("name", "before", "after", "delta", "relative delta"),
            [
                [d["name"], d["before"], d["after"], d["delta"], d.get("relative_delta", 0.0)]
                for d in executive["key_deltas"]
            ],
        )
    yield from _offline(report.get("offline"))
    yield from _experiment(report.get("experiment"))
    yield from _ope(report.get("ope"))
    inter = report.get("interleaving")
    if inter:
        keys = (
            "algorithm",
            "requests",
            "wins_a",
            "wins_b",
            "ties",
            "win_rate_a",
            "win_rate_b",
            "p_value",
        )
        yield _table("Interleaving", keys, [[inter.get(k) for k in keys]])
    aa = report.get("aa_check") or (report.get("experiment") or {}).get("aa_check")
    if aa:
        thresholds = [str(t) for t in aa["thresholds"]]
        yield _table(
            f"A/A check (uniformish: {fmt(aa['uniformish'])}, {aa['total_tests']} tests)",
            ("metric", *(f"p < {t}" for t in thresholds)),
            [[m["metric"], *(m["counts"].get(t, 0) for t in thresholds)] for m in aa["metrics"]],
        )
    yield from _quality(report.get("data_quality"))
    if report.get("gates"):
        yield _table(
            "Gates",
            ("metric", "max_drop", "delta", "passed"),
            [[g["metric"], g["max_drop"], g["delta"], g["passed"]] for g in report["gates"]],
        )
    if report.get("warnings"):
        yield _table("Warnings", ("warning",), [[w] for w in report["warnings"]])


def _offline(offline: dict[str, Any] | None) -> Iterator[Table]:
    if not offline:
        return
    rows = []
    for m in offline["metrics"]:
        ci = m.get("ci")
        rows.append(
            [
                m["name"],
                m["value"],
                f"[{fmt(ci['lower'])}, {fmt(ci['upper'])}] @ {fmt(ci['level'])}" if ci else None,
            ]
        )
    yield _table("Offline metrics", ("metric", "value", "bootstrap CI"), rows)
    segments = offline.get("by_segment", {})
    if segments:
        names = [m["name"] for m in offline["metrics"]]
        seg_rows = []
        for key, values in segments.items():
            by_name = {v["name"]: v["value"] for v in values}
            seg_rows.append([key, *(by_name.get(n) for n in names)])
        yield _table("Metrics by segment", ("segment", *names), seg_rows)
    baseline = offline.get("baseline")
    if baseline:
        yield _table(
            f"Baseline {baseline['baseline_run_id']}",
            ("name", "before", "after", "delta"),
            [[d["name"], d["before"], d["after"], d["delta"]] for d in baseline["deltas"]],
        )


VARIANT_KEYS = (
    "variant",
    "exposures",
    "clicks",
    "conversions",
    "ctr",
    "conversion_rate",
    "revenue",
    "revenue_per_request",
    "throughput_rps",
)


def _experiment(exp: dict[str, Any] | None) -> Iterator[Table]:
    if not exp:
        return
    yield _table(
        f"Experiment {exp.get('experiment_id', '')}: variants",
        VARIANT_KEYS,
        [[v.get(k, 0) for k in VARIANT_KEYS] for v in exp["variants"]],
    )
    for segment, variants in exp.get("by_segment", {}).items():
        yield _table(
            f"Variants in {segment}",
            VARIANT_KEYS,
            [[v.get(k, 0) for k in VARIANT_KEYS] for v in variants],
        )
    keys = (
        "variant",
        "latency_p95_ms",
        "error_rate",
        "empty_rate",
        "pass_latency",
        "pass_error_rate",
        "pass_empty_rate",
    )
    yield _table(
        "Guardrails", keys, [[g[k] for k in keys] for g in exp["guardrails"]["per_variant"]]
    )
    keys = ("metric", "variant", "segment", "p_value", "adjusted_p_value", "significant", "primary")
    yield _table("Significance", keys, [[t.get(k) for k in keys] for t in exp["significance"]])
    req = exp.get("request_ctr")
    if req:
        yield _table(
            "Per-request CTR (requests with a click / requests)",
            ("variant", "requests", "clicked", "value", "CI lower", "CI upper"),
            [
                [
                    r["variant"],
                    r["requests"],
                    r["clicked_requests"],
                    r["value"],
                    r["ci_lower"],
                    r["ci_upper"],
                ]
                for r in req["variants"]
            ],
        )
    srm = exp.get("srm")
    if srm:
        g = srm["global"]
        yield _table(
            "Sample ratio mismatch",
            ("p_value", "detected", "sample_size", "alpha"),
            [[g["p_value"], g["detected"], g["sample_size"], srm["alpha"]]],
        )
    power = exp.get("power")
    if power:
        yield _table(
            "Power",
            ("metric", "baseline_rate", "mde", "sample_size_per_variant", "estimated_days"),
            [
                [
                    power["metric"],
                    power["baseline_rate"],
                    power["mde"],
                    power["sample_size_per_variant"],
                    power["estimated_days"],
                ]
            ],
        )
    decision = exp.get("decision")
    if decision:
        yield _table(
            "Decision",
            ("decision", "reason", "control", "candidate"),
            [
                [
                    decision["decision"],
                    decision["reason"],
                    decision["control_variant"],
                    decision["candidate_variant"],
                ]
            ],
        )


def _ope(ope: dict[str, Any] | None) -> Iterator[Table]:
    if not ope:
        return
    yield _table(
        f"Off-policy estimates (unit {ope['unit']}, {ope['reward_aggregation']})",
        ("estimator", "value", "variance"),
        [[e["name"], e["value"], e["variance"]] for e in ope["estimators"]],
    )
    ws = ope["weight_stats"]
    yield _table("Importance weights", tuple(ws), [[ws[k] for k in ws]])


def _quality(dq: dict[str, Any] | None) -> Iterator[Table]:
    if not dq:
        return
    rows = [
        [name.replace("_completeness", ""), block["total"], block["missing"], block["missing_rate"]]
        for name, block in dq.items()
        if name.endswith("_completeness")
    ]
    yield _table("Data completeness", ("input", "total", "missing", "missing rate"), rows)
    ji = dq["join_integrity"]
    yield _table("Join integrity", tuple(ji), [[ji[k] for k in ji]])
