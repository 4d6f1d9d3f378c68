"""Sample-ratio mismatch: chi-square goodness of fit of variant counts (spec §3.5).

χ² = Σ (O_v − E_v)² / E_v with E_v = N·r_v (ratios normalised), df = k − 1,
p = Q(df/2, χ²/2). ``detected`` = N ≥ min_sample and p < alpha.
Source: Fabijan et al., "Diagnosing Sample Ratio Mismatch" (KDD 2019).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eval.stats.gamma import chi2_sf


@dataclass(frozen=True, slots=True)
class SRMResult:
    """One SRM test: counts observed vs expected, p-value and the detection flag."""

    p_value: float
    observed: Mapping[str, int]
    expected: Mapping[str, float]
    detected: bool
    sample_size: int
    chi2: float


def srm_test(
    observed: Mapping[str, int],
    *,
    alpha: float,
    min_sample: int,
    expected_ratios: Mapping[str, float] | None = None,
) -> SRMResult:
    """Chi-square SRM test of observed counts per variant.

    Without configured ratios every observed variant is expected equally. With
    ratios, the categories are the configured variants (missing ones observe 0);
    observed variants that are not configured are left out of the test.
    """
    if expected_ratios:
        categories = sorted(expected_ratios)
        weights = {v: float(expected_ratios[v]) for v in categories}
    else:
        categories = sorted(observed)
        weights = {v: 1.0 for v in categories}
    counts = {v: int(observed.get(v, 0)) for v in categories}
    total_weight = sum(weights.values())
    n = sum(counts.values())
    expected = {v: (n * weights[v] / total_weight if total_weight > 0 else 0.0) for v in categories}
    chi2 = 0.0
    for v in categories:
        if expected[v] > 0:
            chi2 += (counts[v] - expected[v]) ** 2 / expected[v]
    df = len(categories) - 1
    p_value = chi2_sf(chi2, df) if df > 0 and n > 0 else 1.0
    return SRMResult(
        p_value=p_value,
        observed=counts,
        expected=expected,
        detected=n >= min_sample and p_value < alpha,
        sample_size=n,
        chi2=chi2,
    )
