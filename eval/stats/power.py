"""Sample size per variant for a two-proportion test (report only, spec §3.5).

p1 = p0 + mde, p̄ = (p0 + p1)/2,
n = ceil([z_{1−α/2}·√(2p̄(1−p̄)) + z_{power}·√(p0(1−p0) + p1(1−p1))]² / mde²),
estimated_days = 2n / daily_samples. Source: Fleiss, *Statistical Methods for
Rates and Proportions* (normal approximation without continuity correction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eval.stats.normal import ppf


@dataclass(frozen=True, slots=True)
class PowerResult:
    """Required sample per variant and the days it takes at the given traffic."""

    sample_size_per_variant: int
    estimated_days: float


def sample_size(
    baseline_rate: float, mde: float, *, alpha: float, power: float, daily_samples: float
) -> PowerResult:
    """Sample size per variant to detect an absolute lift ``mde`` over ``baseline_rate``."""
    p0 = baseline_rate
    p1 = p0 + mde
    p_bar = (p0 + p1) / 2.0
    z_alpha = ppf(1.0 - alpha / 2.0)
    z_power = ppf(power)
    root = z_alpha * math.sqrt(2.0 * p_bar * (1.0 - p_bar)) + z_power * math.sqrt(
        p0 * (1.0 - p0) + p1 * (1.0 - p1)
    )
    n = math.ceil(root * root / (mde * mde))
    days = 2.0 * n / daily_samples if daily_samples > 0 else 0.0
    return PowerResult(sample_size_per_variant=n, estimated_days=days)
