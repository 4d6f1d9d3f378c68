"""Multiple-comparison corrections over a family of p-values (registry by name).

* ``fdr_bh``: Benjamini & Hochberg (1995) step-up, adjusted p_(i) = min_{j≥i} p_(j)·m/j,
  capped at 1 (monotone);
* ``bonferroni``: min(p·m, 1);
* ``none``: unchanged.
The original applies one correction to all tests together: global and per segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from schemas.errors import ConfigError


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        index = order[rank]
        running = min(running, p_values[index] * m / (rank + 1))
        adjusted[index] = min(running, 1.0)
    return adjusted


def bonferroni(p_values: Sequence[float]) -> list[float]:
    """Bonferroni-adjusted p-values: min(p·m, 1)."""
    m = len(p_values)
    return [min(p * m, 1.0) for p in p_values]


def no_correction(p_values: Sequence[float]) -> list[float]:
    """The p-values unchanged."""
    return list(p_values)


CORRECTIONS: dict[str, Callable[[Sequence[float]], list[float]]] = {
    "fdr_bh": benjamini_hochberg,
    "bonferroni": bonferroni,
    "none": no_correction,
}


def correct(method: str, p_values: Sequence[float]) -> list[float]:
    """Apply the named correction; an unknown name lists the known ones."""
    try:
        fn = CORRECTIONS[method]
    except KeyError:
        known = ", ".join(sorted(CORRECTIONS))
        raise ConfigError(
            f"unknown multiple_comparisons.method {method!r} (known: {known})"
        ) from None
    return fn(p_values)
