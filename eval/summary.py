"""The executive summary of a report (spec §3.4): decision, highlights, key deltas, next steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval.baseline import GateResult, MetricDelta, key_deltas
from eval.offline import MetricValue

HIGHLIGHT_PRIORITY = ("ndcg", "map", "precision", "recall", "coverage", "hitrate", "mrr")
MAX_HIGHLIGHTS = 3
MAX_NEXT_STEPS = 3
SMALL_SAMPLE = 50
LOW_JOIN_RATE = 0.8

STEP_FIX_GATES = "Investigate failing gates before shipping the candidate."
STEP_ADD_BASELINE = "Add a baseline report (--baseline) to track regressions."
STEP_FIX_JOIN = "Improve the outcome join rate (check request_id propagation) before trusting KPIs."
STEP_MORE_SAMPLES = "Increase sample size to stabilize metrics."
STEP_TWO_VARIANTS = "Include at least two variants in the experiment."


@dataclass(frozen=True)
class Executive:
    decision: str
    gate_failures: tuple[GateResult, ...] = ()
    highlights: tuple[tuple[str, float], ...] = ()
    key_deltas: tuple[MetricDelta, ...] = ()
    next_steps: tuple[str, ...] = ()


def offline_highlights(metrics: Sequence[MetricValue]) -> tuple[tuple[str, float], ...]:
    """The first 3 metrics in priority order (ndcg, map, …), then filled in config order."""
    chosen: list[MetricValue] = []
    for base in HIGHLIGHT_PRIORITY:
        chosen.extend(m for m in metrics if m.name.split("@", 1)[0].lower() == base)
    chosen = chosen[:MAX_HIGHLIGHTS]
    for metric in metrics:
        if len(chosen) >= MAX_HIGHLIGHTS:
            break
        if metric not in chosen:
            chosen.append(metric)
    return tuple((m.name, m.value) for m in chosen)


def executive(
    *,
    mode: str,
    cases: int,
    gates: Sequence[GateResult] = (),
    highlights: Sequence[tuple[str, float]] = (),
    deltas: Sequence[MetricDelta] = (),
    has_baseline: bool = False,
    outcome_join_rate: float | None = None,
    variants: int | None = None,
) -> Executive:
    """Assemble the executive summary with the original's rules and ordering."""
    failures = tuple(g for g in gates if not g.passed)
    decision = "not_configured" if not gates else ("fail" if failures else "pass")
    steps = []
    if decision == "fail":
        steps.append(STEP_FIX_GATES)
    if mode == "offline" and not has_baseline:
        steps.append(STEP_ADD_BASELINE)
    if outcome_join_rate is not None and 0 < outcome_join_rate < LOW_JOIN_RATE:
        steps.append(STEP_FIX_JOIN)
    if 0 < cases < SMALL_SAMPLE:
        steps.append(STEP_MORE_SAMPLES)
    if variants is not None and variants < 2:
        steps.append(STEP_TWO_VARIANTS)
    return Executive(
        decision=decision,
        gate_failures=failures,
        highlights=tuple(highlights),
        key_deltas=key_deltas(deltas),
        next_steps=tuple(steps[:MAX_NEXT_STEPS]),
    )
