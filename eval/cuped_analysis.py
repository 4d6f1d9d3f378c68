"""CUPED-adjusted ctr and conversion_rate per variant (spec §3.5, Deng et al. 2013).

x = float(context[covariate_key]) (exposures without a parseable covariate are
skipped), y = 1 if the request had ≥1 click (resp. conversion). θ is fitted over
all covariate-bearing assigned exposures; CUPED is reported disabled if var(x) ≤ 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eval.join import Case
from eval.stats.cuped import adjusted_mean, fit


@dataclass(frozen=True)
class CupedResult:
    """θ per metric, coverage, and the adjusted rates per variant."""

    enabled: bool
    covariate_key: str
    theta_ctr: float
    theta_conversion_rate: float
    coverage_rate: float
    ctr_adjusted: dict[str, float] = field(default_factory=dict)
    conversion_rate_adjusted: dict[str, float] = field(default_factory=dict)


def _covariate(case: Case, key: str) -> float | None:
    raw = case.exposure.context.get(key)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def cuped(cases: Sequence[tuple[str, Case]], covariate_key: str) -> CupedResult:
    """Fit θ for both metrics and adjust each variant's mean."""
    rows: list[tuple[str, float, float, float]] = []
    for variant, case in cases:
        x = _covariate(case, covariate_key)
        if x is None:
            continue
        kinds = {o.kind for o in case.outcomes}
        rows.append((variant, x, float("click" in kinds), float("conversion" in kinds)))
    coverage = len(rows) / len(cases) if cases else 0.0
    xs = [r[1] for r in rows]
    fit_click = fit(xs, [r[2] for r in rows])
    fit_conv = fit(xs, [r[3] for r in rows])
    if fit_click is None or fit_conv is None:
        return CupedResult(False, covariate_key, 0.0, 0.0, coverage)
    result = CupedResult(True, covariate_key, fit_click.theta, fit_conv.theta, coverage)
    for variant in sorted({r[0] for r in rows}):
        group = [r for r in rows if r[0] == variant]
        gx = [r[1] for r in group]
        result.ctr_adjusted[variant] = adjusted_mean(fit_click, gx, [r[2] for r in group])
        result.conversion_rate_adjusted[variant] = adjusted_mean(
            fit_conv, gx, [r[3] for r in group]
        )
    return result
