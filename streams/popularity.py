"""Popularity: per (tenant, surface, item) a decayed, event-type-weighted score.

Namespace rule (docs/streams.md): an exposure's items count under its context's
tenant/surface; an outcome counts under the tenant/surface of its exposure when the
worker has seen that exposure, else under tenant ``default``, surface ``default``
(outcome.v1 carries no context of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streams.decay import MS_PER_DAY, Decayed, add, value_at

DEFAULT_WEIGHTS: Mapping[str, float] = {"shown": 0.0, "click": 1.0, "conversion": 3.0}


@dataclass(frozen=True)
class PopularityConfig:
    half_life_days: float = 7.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    top_k: int = 100

    @property
    def half_life_ms(self) -> float:
        return self.half_life_days * MS_PER_DAY

    def weight(self, event_type: str) -> float:
        return float(self.weights.get(event_type.lower(), 0.0))


@dataclass(frozen=True, slots=True)
class Observation:
    """One weighted sighting of an item in a namespace, at event time."""

    tenant: str
    surface: str
    item_id: str
    weight: float
    t_ms: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.surface, self.item_id)


def apply(state: Decayed | None, obs: Observation, config: PopularityConfig) -> Decayed:
    return add(state, obs.weight, obs.t_ms, config.half_life_ms)


def batch_popularity(
    observations: Iterable[Observation], config: PopularityConfig
) -> dict[tuple[str, str, str], Decayed]:
    """Batch twin: the same reducer folded over a list."""
    state: dict[tuple[str, str, str], Decayed] = {}
    for obs in observations:
        if obs.weight:
            state[obs.key] = apply(state.get(obs.key), obs, config)
    return state


def top_k(
    scores: Mapping[str, Decayed], k: int, t_ms: int, half_life_ms: float
) -> list[tuple[str, float]]:
    """The ``k`` best items at time ``t_ms``: score desc, then item_id asc."""
    at = [(item, value_at(s, t_ms, half_life_ms)) for item, s in scores.items()]
    at.sort(key=lambda kv: (-kv[1], kv[0]))
    return at[:k]
