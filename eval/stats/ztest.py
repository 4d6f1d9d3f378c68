"""Pooled two-proportion z-test, two-sided (the original's significance test, §3.5).

z = (p1 − p0) / sqrt(p̂(1−p̂)(1/n1 + 1/n0)), p̂ = (x1 + x0)/(n1 + n0), p = 2(1 − Φ(|z|)).
Source: any introductory text, e.g. Agresti, *Categorical Data Analysis* §2.2.
The "successes" may be event counts larger than n (parity quirk §9.4); the formula
is applied as is. p = 1 when either n is 0 or the standard error is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eval.stats.normal import two_sided_p


@dataclass(frozen=True, slots=True)
class ZTest:
    """Result of a two-proportion test: z statistic and two-sided p-value."""

    z: float
    p_value: float


def pooled_two_proportion(
    successes_treatment: float, n_treatment: int, successes_control: float, n_control: int
) -> ZTest:
    """Pooled two-proportion z-test of treatment vs control."""
    if n_treatment == 0 or n_control == 0:
        return ZTest(0.0, 1.0)
    p1 = successes_treatment / n_treatment
    p0 = successes_control / n_control
    pooled = (successes_treatment + successes_control) / (n_treatment + n_control)
    variance = pooled * (1.0 - pooled) * (1.0 / n_treatment + 1.0 / n_control)
    # A negative variance happens when event counts exceed n (p̂ > 1); treat as SE 0.
    if variance <= 0.0:
        return ZTest(0.0, 1.0)
    z = (p1 - p0) / math.sqrt(variance)
    return ZTest(z, two_sided_p(z))


def sign_test(wins_a: int, wins_b: int) -> float:
    """Two-sided normal-approximation sign test: z = (wins_a − n/2)/sqrt(n/4), n = wins_a + wins_b.

    Ties are excluded by the caller; p = 1 when n = 0 (interleaving, §3.7).
    """
    n = wins_a + wins_b
    if n == 0:
        return 1.0
    z = (wins_a - n / 2.0) / math.sqrt(n / 4.0)
    return two_sided_p(z)
