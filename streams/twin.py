"""The batch twin of the whole stream state: the reducers folded over a list of events.

Tests and benchmarks compare the live views with this on the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import Event, Exposure, Item, Outcome
from streams import covisitation
from streams.attribution import batch_attribution
from streams.catalog import CatalogEntry, batch_catalog
from streams.decay import Decayed
from streams.history import Engagement, batch_pairs
from streams.namespace import surface_of, tenant_of
from streams.popularity import Observation, batch_popularity
from streams.state_config import StateConfig


@dataclass(frozen=True)
class TwinState:
    popularity: dict[tuple[str, str, str], Decayed]
    neighbours: dict[tuple[str, str, str], list[tuple[str, int]]]
    history: dict[tuple[str, str], tuple[tuple[str, int], ...]]
    catalog: dict[tuple[str, str], CatalogEntry]
    pair_counts: dict[tuple[str, str, str, str], int]


def observations(events: Iterable[Event], config: StateConfig) -> list[Observation]:
    """Popularity observations: shown items of exposures, and attributed outcomes."""
    exposures = [e for e in events if isinstance(e, Exposure)]
    outcomes = [e for e in events if isinstance(e, Outcome)]
    pop = config.popularity
    out = []
    shown = pop.weight("shown")
    if shown:
        seen: set[str] = set()
        for e in exposures:
            if e.request_id in seen:  # a repeated request_id is not shown twice
                continue
            seen.add(e.request_id)
            t, s = tenant_of(e.context), surface_of(e.context)
            out += [Observation(t, s, it.item_id, shown, e.timestamp_ms) for it in e.items]
    for a in batch_attribution(exposures, outcomes):
        out.append(Observation(a.tenant, a.surface, a.item_id, pop.weight(a.event_type), a.t_ms))
    return out


def state_twin(events: Iterable[Event], config: StateConfig) -> TwinState:
    events = list(events)
    exposures = [e for e in events if isinstance(e, Exposure)]
    outcomes = [e for e in events if isinstance(e, Outcome)]
    engagements = [
        Engagement(a.tenant, a.surface, a.user_id, a.item_id, a.t_ms)
        for a in batch_attribution(exposures, outcomes)
    ]
    users, pairs = batch_pairs(engagements, config.history)
    counts = covisitation.batch_counts(pairs)
    return TwinState(
        popularity=batch_popularity(observations(events, config), config.popularity),
        neighbours=covisitation.neighbour_lists(counts, config.covis_top_n),
        history={k: u.recent for k, u in users.items()},
        catalog=batch_catalog(e for e in events if isinstance(e, Item)),
        pair_counts=dict(counts),
    )
