"""Candidate generation (spec §5.2), reading the views through their protocols.

The pool is the union of
- popularity: the namespace's top ``fanout`` items (``fanout = max(fanout_factor·k,
  popularity_fanout)`` plus room for the exclusions);
- co-visitation: up to ``covis_per_anchor`` neighbours of every anchor, each keeping its
  **max** count over anchors; the best ``fanout`` of them join the pool (all of them
  still give their co-visitation signal to pool items). Anchors are the explicit
  ``anchors.item_ids`` plus ``candidates.include_ids`` (at most ``max_injected_anchors``)
  or, when there are none, the user's recent items from the ``HistoryView`` (the
  original never had a history store, so its co-visitation only worked from explicit
  anchors);
- ``include_ids`` the catalog or popularity knows (an unknown id cannot be rendered).

In ``cooc`` mode the pool is the neighbours only, falling back to popularity when empty.
Explicit and history anchors are seeds, not candidates of their own neighbour lists.

A pool with fewer than k candidates is topped up with the tenant's newest catalog items
when ``query.catalog_fill`` is on (ours, ``serving.engine.catalog_fill``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from serving.engine.catalog_fill import catalog_fill
from serving.engine.model import EngineSettings, RankQuery, ViewSet
from serving.engine.reads import neighbour_pairs, popularity_of, top_popularity
from serving.engine.scoring import Signals
from serving.engine.warnings import ServingWarning


@dataclass(slots=True)
class Pool:
    """The candidates in pool order with their popularity (``pop``), and the
    co-visitation count of every neighbour seen (``cooc``: pool items or not);
    ``filled`` are the pool items the catalog fallback added."""

    pop: dict[str, float]
    cooc: dict[str, float] = field(default_factory=dict)
    anchors: tuple[str, ...] = ()
    anchor_source: str = "none"  # explicit | history | none
    warnings: list[ServingWarning] = field(default_factory=list)
    filled: tuple[str, ...] = ()

    def signals(self, item: str) -> Signals:
        return Signals(pop=self.pop.get(item, 0.0), cooc=self.cooc.get(item, 0.0))


def _dedupe(ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def pick_anchors(
    query: RankQuery, views: ViewSet, settings: EngineSettings, warnings: list[ServingWarning]
) -> tuple[tuple[str, ...], str]:
    injected = _dedupe(query.anchors + query.include_ids)[: settings.max_injected_anchors]
    if injected:
        return injected, "explicit"
    if query.user_id is None or views.history is None:
        return (), "none"
    try:
        recent = views.history.recent(query.tenant, query.user_id, settings.history_anchors)
    except Exception as exc:  # a signal that is not ready is a warning, never a 500
        warnings.append(ServingWarning("SIGNAL_UNAVAILABLE", f"history unavailable: {exc}"))
        return (), "none"
    anchors = _dedupe([item for item, _ in recent])
    return anchors, "history" if anchors else "none"


def covisited(
    query: RankQuery, views: ViewSet, settings: EngineSettings, anchors: tuple[str, ...],
    warnings: list[ServingWarning],
) -> dict[str, float]:
    """Neighbour → max co-visitation count over the anchors."""
    if not anchors:
        return {}
    if views.covisitation is None:
        warnings.append(ServingWarning("SIGNAL_UNAVAILABLE",
                                       "cooc unavailable: no co-visitation view"))
        return {}
    best: dict[str, float] = {}
    failed: list[str] = []
    get = best.get
    for anchor in anchors:
        try:
            found = neighbour_pairs(views.covisitation, query.tenant, query.surface, anchor,
                                    settings.covis_per_anchor)
        except Exception as exc:
            failed.append(f"{anchor}: {exc}")
            continue
        for item, count in found:
            if count > get(item, 0.0):
                best[item] = count
    if failed and len(failed) == len(anchors):
        warnings.append(ServingWarning("SIGNAL_UNAVAILABLE", f"cooc unavailable: {failed[0]}"))
    elif failed:
        warnings.append(ServingWarning(
            "SIGNAL_PARTIAL", f"cooc: {len(failed)} of {len(anchors)} anchor lookups failed"))
    return best


def _known(query: RankQuery, views: ViewSet, item: str) -> bool:
    try:
        if views.catalog.get(query.tenant, item) is not None:
            return True
    except Exception:  # noqa: S110 - the popularity check below decides then
        pass
    return views.popularity.score(query.tenant, query.surface, item, query.now_ms) > 0


def generate(query: RankQuery, views: ViewSet, settings: EngineSettings) -> Pool:
    """The candidate pool with raw signals (popularity errors propagate: a 500)."""
    warnings: list[ServingWarning] = []
    anchors, source = pick_anchors(query, views, settings, warnings)
    neighbours = covisited(query, views, settings, anchors, warnings)
    seeds = set(query.anchors) | (set(anchors) if source == "history" else set())
    for seed in seeds:
        neighbours.pop(seed, None)
    if query.weights.emb > 0:
        warnings.append(ServingWarning("SIGNAL_UNAVAILABLE",
                                       "embedding unavailable: no embedding view"))
    if query.mode == "implicit":
        warnings.append(ServingWarning("SIGNAL_UNAVAILABLE",
                                       "collaborative unavailable: no collaborative view"))

    fanout = max(settings.fanout_factor * query.k, settings.popularity_fanout)
    wanted = fanout + len(query.exclude_ids)
    pop: dict[str, float] = {}
    admitted = neighbours
    if len(neighbours) > fanout:
        admitted = dict(sorted(neighbours.items(), key=lambda kv: (-kv[1], kv[0]))[:fanout])
    popularity_empty = False
    if query.mode == "cooc" and neighbours:
        neighbours = admitted
    else:
        pop = dict(top_popularity(views.popularity, query.tenant, query.surface, wanted,
                                  query.now_ms))
        popularity_empty = not pop
    extra = [i for i in admitted if i not in pop]
    extra += [i for i in query.include_ids if i not in pop and i not in admitted
              and _known(query, views, i)]
    filled: tuple[str, ...] = ()
    # the common case, a pool of k or more outside the exclusions, costs one comparison
    if query.catalog_fill and len(pop) + len(extra) < query.k + len(query.exclude_ids):
        filled, fill_warning = catalog_fill(query, views.catalog, {*pop, *extra}, wanted,
                                            popularity_empty)
        if fill_warning is not None:
            warnings.append(fill_warning)
        extra += filled
    if extra:
        pop.update(popularity_of(views.popularity, query.tenant, query.surface, extra,
                                 query.now_ms))
    return Pool(pop, neighbours, anchors, source, warnings, filled)
