"""Per-request CTR with delta-method confidence intervals (our addition, beside the original).

The original's ``ctr`` is click *events* / exposures and can exceed 1 (quirk §9.4).
``request_ctr`` is the share of requests with at least one click: a mean of
Bernoulli indicators over the randomisation unit, so it lies in [0, 1] and its
standard error is √(p(1−p)/n). For variant vs control:

* absolute lift d = p1 − p0, SE = √(p1(1−p1)/n1 + p0(1−p0)/n0);
* relative lift r = p1/p0 − 1, by the delta method
  Var(p1/p0) ≈ Var(p1)/p0² + p1²·Var(p0)/p0⁴
  (Deng, Knoblich & Lu, "Applying the Delta Method in Metric Analytics", KDD 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eval.stats.normal import ppf


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with a two-sided normal CI at ``level``."""

    value: float
    ci_lower: float
    ci_upper: float
    level: float


def _interval(value: float, se: float, level: float) -> Estimate:
    z = ppf(0.5 + level / 2.0)
    return Estimate(value, value - z * se, value + z * se, level)


def proportion(successes: int, n: int, level: float) -> Estimate:
    """The share successes/n with its Wald (CLT) interval; 0 ± 0 when n = 0."""
    if n == 0:
        return Estimate(0.0, 0.0, 0.0, level)
    p = successes / n
    return _interval(p, math.sqrt(p * (1.0 - p) / n), level)


def absolute_lift(successes_t: int, n_t: int, successes_c: int, n_c: int, level: float) -> Estimate:
    """p_t − p_c with the unpooled normal interval."""
    if n_t == 0 or n_c == 0:
        return Estimate(0.0, 0.0, 0.0, level)
    p_t, p_c = successes_t / n_t, successes_c / n_c
    se = math.sqrt(p_t * (1.0 - p_t) / n_t + p_c * (1.0 - p_c) / n_c)
    return _interval(p_t - p_c, se, level)


def relative_lift(
    successes_t: int, n_t: int, successes_c: int, n_c: int, level: float
) -> Estimate | None:
    """p_t/p_c − 1 with a delta-method interval; None when the control rate is 0."""
    if n_t == 0 or n_c == 0 or successes_c == 0:
        return None
    p_t, p_c = successes_t / n_t, successes_c / n_c
    var_t = p_t * (1.0 - p_t) / n_t
    var_c = p_c * (1.0 - p_c) / n_c
    variance = var_t / p_c**2 + p_t**2 * var_c / p_c**4
    return _interval(p_t / p_c - 1.0, math.sqrt(variance), level)
