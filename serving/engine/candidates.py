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

``CatalogFill`` (ours; tenant flag ``catalog_fallback``, default on) stands in for the
popularity view of a namespace that has no popularity yet: its newest catalog items
enter the pool with popularity 0 (so score 0, ordered by item_id by the final sort),
carry the reason ``catalog_fallback`` and the response a ``SIGNAL_UNAVAILABLE``
warning. It needs a catalog that implements ``CatalogListing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from serving.engine.model import EngineSettings, RankQuery, RankResult, ViewSet
from serving.engine.reads import neighbour_pairs, popularity_of, top_popularity
from serving.engine.scoring import Signals
from serving.engine.warnings import ServingWarning, ordered
from serving.views import CatalogView, ItemMeta, PopularityView, ScoredItem

CATALOG_REASON = "catalog_fallback"


@dataclass(slots=True)
class Pool:
    """The candidates in pool order with their popularity (``pop``), and the
    co-visitation count of every neighbour seen (``cooc``: pool items or not)."""

    pop: dict[str, float]
    cooc: dict[str, float] = field(default_factory=dict)
    anchors: tuple[str, ...] = ()
    anchor_source: str = "none"  # explicit | history | none
    warnings: list[ServingWarning] = field(default_factory=list)

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
    pop: dict[str, float] = {}
    admitted = neighbours
    if len(neighbours) > fanout:
        admitted = dict(sorted(neighbours.items(), key=lambda kv: (-kv[1], kv[0]))[:fanout])
    if query.mode == "cooc" and neighbours:
        neighbours = admitted
    else:
        pop = dict(top_popularity(views.popularity, query.tenant, query.surface,
                                  fanout + len(query.exclude_ids), query.now_ms))
    extra = [i for i in admitted if i not in pop]
    extra += [i for i in query.include_ids if i not in pop and i not in admitted
              and _known(query, views, i)]
    if extra:
        pop.update(popularity_of(views.popularity, query.tenant, query.surface, extra,
                                 query.now_ms))
    return Pool(pop, neighbours, anchors, source, warnings)


@runtime_checkable
class CatalogListing(Protocol):
    """A catalog that can list a tenant's items (for the empty-namespace fallback)."""

    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        """Up to ``n`` available items, ``created_at`` desc (undated last), item_id asc."""
        ...


class CatalogFill:
    """Popularity that lists the catalog, at score 0, for a namespace with none (one
    request; ``filled`` are the ids it listed)."""

    def __init__(self, popularity: PopularityView, catalog: CatalogView) -> None:
        self.popularity = popularity
        self.catalog = catalog
        self.score = popularity.score  # unchanged: an unpopular item scores 0 anyway
        self.filled: tuple[str, ...] = ()
        self.error: str | None = None

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        found = self.popularity.top(tenant, surface, n, now_ms)
        if found or n <= 0 or not isinstance(self.catalog, CatalogListing):
            return found
        try:
            metas = self.catalog.newest(tenant, n)
        except Exception as exc:  # no fallback then; the warning says why
            self.error = str(exc)
            return found
        self.filled = tuple(m.item_id for m in metas)
        return [ScoredItem(item, 0.0) for item in self.filled]

    # bulk reads (serving.views.BulkViews), so the wrapped view's fast paths stay in use

    def top_pairs(self, tenant: str, surface: str, n: int,
                  now_ms: int) -> Sequence[tuple[str, float]]:
        found = top_popularity(self.popularity, tenant, surface, n, now_ms)
        if found or n <= 0:
            return found
        return [(s.item_id, s.score) for s in self.top(tenant, surface, n, now_ms)]

    def scores_of(self, tenant: str, surface: str, ids: Iterable[str],
                  now_ms: int) -> dict[str, float]:
        return popularity_of(self.popularity, tenant, surface, ids, now_ms)

    def mark(self, result: RankResult, tenant: str, surface: str) -> RankResult:
        """The reason token on the listed items and the warning, when the fill ran."""
        if self.error is not None:
            detail = f"popularity unavailable: no popularity for {tenant}/{surface}; " \
                     f"catalog fallback failed: {self.error}"
        elif self.filled:
            detail = f"popularity unavailable: no popularity for {tenant}/{surface} yet; " \
                     f"{len(self.filled)} candidates from the catalog (newest first, score 0)"
        else:
            return result
        listed = set(self.filled)
        items = tuple(
            replace(i, reasons=(CATALOG_REASON, *i.reasons))
            if i.reasons is not None and i.item_id in listed else i
            for i in result.items)
        warning = ServingWarning("SIGNAL_UNAVAILABLE", detail)
        return replace(result, items=items, warnings=ordered((*result.warnings, warning)))
