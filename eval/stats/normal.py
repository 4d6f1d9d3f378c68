"""Standard normal distribution: CDF, two-sided p-value and inverse CDF.

Φ(x) = ½·erfc(−x/√2), computed with ``math.erfc`` exactly as Go's
``0.5 * math.Erfc(-x / math.Sqrt2)``, so p-values match the original bit for bit.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)


def cdf(x: float) -> float:
    """Φ(x) = ½·erfc(−x/√2)."""
    return 0.5 * math.erfc(-x / _SQRT2)


def two_sided_p(z: float) -> float:
    """p = 2·(1 − Φ(|z|)), the form the original uses (not erfc(|z|/√2), which differs in ulps)."""
    return 2.0 * (1.0 - cdf(abs(z)))


# Acklam's rational approximation of Φ⁻¹ (P. J. Acklam, 2003; relative error < 1.15e-9).
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def ppf(p: float) -> float:
    """Φ⁻¹(p) by Acklam's algorithm without the refinement step (as the original's power)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"ppf needs 0 < p < 1, got {p}")
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        return _tail(q)
    if p > 1.0 - _P_LOW:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        return -_tail(q)
    q = p - 0.5
    r = q * q
    num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
    den = ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
    return num / den


def _tail(q: float) -> float:
    num = ((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]
    den = (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
    return num / den
