"""Baseline comparison and regression gates (spec §3.4).

delta = current − baseline, relative_delta = delta / baseline (0 when the baseline
is 0); metrics are matched by name case-insensitively. A gate passes iff
delta ≥ −max_drop; a gate whose metric has no delta fails.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval.offline import MetricValue
from schemas.errors import InputError


@dataclass(frozen=True, slots=True)
class Baseline:
    """The parts of a previous offline report that a comparison needs."""

    run_id: str
    metrics: Mapping[str, float]  # lower-cased name → value


@dataclass(frozen=True, slots=True)
class MetricDelta:
    name: str
    before: float
    after: float
    delta: float
    relative_delta: float


@dataclass(frozen=True, slots=True)
class GateResult:
    metric: str
    max_drop: float
    delta: float
    passed: bool


def baseline_from_report(report: Any, source: str) -> Baseline:
    """Extract run_id and offline metrics from a parsed report.v1 document."""
    if not isinstance(report, dict):
        raise InputError(f"{source}: baseline is not a JSON object")
    offline = report.get("offline")
    if not isinstance(offline, dict) or not isinstance(offline.get("metrics"), list):
        raise InputError(f"{source}: baseline is not an offline report (no offline.metrics)")
    metrics: dict[str, float] = {}
    for entry in offline["metrics"]:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            value = entry.get("value", 0)
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics[entry["name"].lower()] = float(value)
    return Baseline(run_id=str(report.get("run_id", "")), metrics=metrics)


def compare(current: Sequence[MetricValue], baseline: Baseline) -> tuple[MetricDelta, ...]:
    """Deltas of every current metric that the baseline also has, in current order."""
    deltas = []
    for metric in current:
        before = baseline.metrics.get(metric.name.lower())
        if before is None:
            continue
        delta = metric.value - before
        deltas.append(
            MetricDelta(metric.name, before, metric.value, delta, delta / before if before else 0.0)
        )
    return tuple(deltas)


def evaluate_gates(
    gates: Sequence[tuple[str, float]], deltas: Sequence[MetricDelta]
) -> tuple[GateResult, ...]:
    """Check each ``(metric, max_drop)`` gate against the deltas."""
    by_name = {d.name.lower(): d for d in deltas}
    results = []
    for metric, max_drop in gates:
        found = by_name.get(metric.lower())
        if found is None:
            results.append(GateResult(metric, max_drop, 0.0, False))
        else:
            results.append(GateResult(metric, max_drop, found.delta, found.delta >= -max_drop))
    return tuple(results)


def gate_failure_reason(
    gate: GateResult, computed: Collection[str], baseline: Baseline | None
) -> str:
    """Why a gate failed, for the message on stderr: a drop, or no delta and why not."""
    name = gate.metric.lower()
    if name not in {metric.lower() for metric in computed}:
        return f"{gate.metric} (not among this run's metrics)"
    if baseline is None:
        return f"{gate.metric} (no baseline to compare with: pass --baseline)"
    if name not in baseline.metrics:
        return f"{gate.metric} (missing from the baseline report)"
    return f"{gate.metric} (dropped {-gate.delta:g}, max_drop {gate.max_drop:g})"


def key_deltas(deltas: Sequence[MetricDelta], limit: int = 3) -> tuple[MetricDelta, ...]:
    """The ``limit`` largest deltas by |delta|, ties broken by name."""
    return tuple(sorted(deltas, key=lambda d: (-abs(d.delta), d.name))[:limit])
