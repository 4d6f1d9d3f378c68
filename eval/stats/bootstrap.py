"""Percentile bootstrap CI of a mean (Efron & Tibshirani 1993, ch. 13).

B resamples with replacement; with a = 1 − level the bounds are
sorted_means[floor(a/2·(B−1))] and sorted_means[ceil((1−a/2)·(B−1))], the
original's indexing. Its Go RNG stream cannot be reproduced, so the digits differ
from the Go tool; the statistics do not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A two-sided interval at ``level``."""

    lower: float
    upper: float
    level: float


def bootstrap_mean_ci(
    values: Sequence[float] | npt.NDArray[np.float64],
    *,
    iterations: int,
    level: float,
    rng: np.random.Generator,
) -> ConfidenceInterval | None:
    """Percentile bootstrap CI of the mean of ``values``; None if empty or no iterations."""
    n = len(values)
    if n == 0 or iterations <= 0:
        return None
    data = np.asarray(values, dtype=np.float64)
    means = np.empty(iterations, dtype=np.float64)
    for b in range(iterations):
        means[b] = data[rng.integers(0, n, size=n)].mean()
    means.sort()
    alpha = 1.0 - level
    lo = math.floor(alpha / 2.0 * (iterations - 1))
    hi = math.ceil((1.0 - alpha / 2.0) * (iterations - 1))
    return ConfidenceInterval(float(means[lo]), float(means[min(hi, iterations - 1)]), level)
