"""Exponentially decayed scores in event time.

A score is kept as ``(value, t_ms)``: its value as of event time ``t_ms``. Adding a
weight ``w`` observed at ``t`` gives, at ``T = max(t_ms, t)``::

    value(T) = value · 2^(−(T − t_ms)/h) + w · 2^(−(T − t)/h)

so the state after any set of observations is ``Σ wᵢ · 2^(−(T − tᵢ)/h)`` at
``T = max tᵢ`` whatever their arrival order (up to float rounding, ~1e-15 relative).
``h`` is the half-life in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class Decayed:
    value: float
    t_ms: int


def decay_factor(dt_ms: int, half_life_ms: float) -> float:
    """2^(−dt/h): how much of a score survives ``dt_ms`` milliseconds."""
    return float(2.0 ** (-dt_ms / half_life_ms))


def add(prev: Decayed | None, weight: float, t_ms: int, half_life_ms: float) -> Decayed:
    """Fold one weighted observation at event time ``t_ms`` into a decayed score."""
    if prev is None:
        return Decayed(weight, t_ms)
    if t_ms >= prev.t_ms:
        return Decayed(prev.value * decay_factor(t_ms - prev.t_ms, half_life_ms) + weight, t_ms)
    return Decayed(prev.value + weight * decay_factor(prev.t_ms - t_ms, half_life_ms), prev.t_ms)


def value_at(score: Decayed, t_ms: int, half_life_ms: float) -> float:
    """The score decayed (or, for ``t_ms`` before its time, grown back) to ``t_ms``."""
    return score.value * decay_factor(t_ms - score.t_ms, half_life_ms)
