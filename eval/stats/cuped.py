"""CUPED variance reduction with a pre-period covariate (Deng et al., WSDM 2013).

θ = cov(x, y) / var(x) with population moments over all units that carry the
covariate; adjusted mean of a group = ȳ_g − θ·(x̄_g − x̄). The original reports the
adjusted means only; its significance tests do not use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CupedFit:
    """θ and the global covariate mean; ``None`` from ``fit`` when var(x) ≤ 0."""

    theta: float
    mean_x: float


def fit(x: Sequence[float], y: Sequence[float]) -> CupedFit | None:
    """Fit θ = cov(x,y)/var(x) (population moments); None if var(x) ≤ 0 or no data."""
    n = len(x)
    if n == 0:
        return None
    mean_x = sum(x) / n
    mean_y = sum(y) / n
    var_x = sum((xi - mean_x) ** 2 for xi in x) / n
    if var_x <= 0.0:
        return None
    cov = sum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(x, y, strict=True)) / n
    return CupedFit(theta=cov / var_x, mean_x=mean_x)


def adjusted_mean(fitted: CupedFit, x: Sequence[float], y: Sequence[float]) -> float:
    """ȳ_g − θ·(x̄_g − x̄) for one group; 0 for an empty group."""
    if not x:
        return 0.0
    mean_x_g = sum(x) / len(x)
    mean_y_g = sum(y) / len(y)
    return mean_y_g - fitted.theta * (mean_x_g - fitted.mean_x)
