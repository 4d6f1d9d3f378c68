"""The ship / hold / fail decision (spec §3.5), on raw point estimates (quirk §9.5 kept).

1. For each primary metric, delta = candidate − control; delta < threshold → fail.
   p-values are not consulted (as the original).
2. Else a failed candidate guardrail (guardrail_gate) → hold; detected SRM
   (srm_gate) → hold.
3. Else ship. Exit codes: ship 0, hold 2, fail 3.

Without a candidate variant in the data (ours, the spec is silent) the decision is
hold, "no candidate variant".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eval.experiment import GuardrailResult, VariantStats
from eval.stats.srm import SRMResult

EXIT_CODES = {"ship": 0, "hold": 2, "fail": 3}


@dataclass(frozen=True, slots=True)
class PrimaryCheck:
    metric: str
    control: float
    candidate: float
    delta: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class Decision:
    """The decision artifact's content (decision.v1)."""

    decision: str
    reason: str
    control_variant: str
    candidate_variant: str
    primary_metrics: tuple[PrimaryCheck, ...]
    guardrail: GuardrailResult | None
    thresholds: Mapping[str, float]
    srm: SRMResult | None
    srm_alpha: float

    @property
    def exit_code(self) -> int:
        """0 ship, 2 hold, 3 fail."""
        return EXIT_CODES[self.decision]


def choose_candidate(stats: Sequence[VariantStats], control: str, configured: str) -> str:
    """The configured candidate, else the non-control variant with most exposures."""
    if configured:
        return configured
    others = [s for s in stats if s.variant != control]
    return max(others, key=lambda s: s.exposures).variant if others else ""


def decide(
    stats: Sequence[VariantStats],
    guardrails: Sequence[GuardrailResult],
    *,
    control: str,
    candidate: str,
    primary_metrics: Sequence[str],
    thresholds: Mapping[str, float],
    guardrail_gate: bool,
    srm: SRMResult | None,
    srm_gate: bool,
    srm_alpha: float,
) -> Decision:
    """Apply the original's decision rule."""
    by_name = {s.variant: s for s in stats}
    base, cand = by_name.get(control), by_name.get(candidate)
    checks = []
    for metric in primary_metrics:
        before = base.rate(metric) if base else 0.0
        after = cand.rate(metric) if cand else 0.0
        threshold = thresholds.get(metric, 0.0)
        delta = after - before
        checks.append(PrimaryCheck(metric, before, after, delta, threshold, delta >= threshold))
    guard = next((g for g in guardrails if g.variant == candidate), None)
    if cand is None:  # not specified by the original; holding is the safe reading
        verdict, reason = "hold", "no candidate variant"
    elif any(not c.passed for c in checks):
        verdict, reason = "fail", "primary metric regression"
    elif guardrail_gate and guard is not None and not guard.passed:
        verdict, reason = "hold", "guardrail regression"
    elif srm_gate and srm is not None and srm.detected:
        verdict, reason = "hold", "srm detected"
    else:
        verdict, reason = "ship", "primary metrics within thresholds"
    return Decision(
        verdict, reason, control, candidate, tuple(checks), guard, dict(thresholds), srm, srm_alpha
    )
