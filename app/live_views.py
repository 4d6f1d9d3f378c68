"""Adapters that let serving read the worker's Faust tables in the same process."""

from __future__ import annotations

import time

import faust

from serving.views import ItemCounts, PopularityView, ScoredItem
from streams.agents import StreamTables
from streams.counts import merge_counts

SHOWN_CACHE_S = 1.0


class FaustCountsView:
    """``serving.views.CountsView`` over the spine tables of an in-process worker."""

    def __init__(self, app: faust.App, tables: StreamTables) -> None:
        self.app = app
        self.tables = tables

    def counts(self, tenant: str, surface: str) -> list[ItemCounts]:
        merged = merge_counts(
            self.tables.tallies(self.tables.shown),
            self.tables.tallies(self.tables.engaged),
            tenant,
            surface,
        )
        return [ItemCounts(item, shown, engaged) for item, (shown, engaged) in merged.items()]

    def ready(self) -> bool:
        """Tables recovered, and the worker has not crashed (its tables no longer move)."""
        if self.app.crashed:
            return False
        # faust's TableManager has .recovery at run time; its type stub does not say so
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        return bool(recovery.completed.is_set())


class ShownBackfill:
    """Popularity from the views, then the items only *shown* so far, at score 0.

    Popularity weighs a shown item 0 by default, so an item nobody engaged with yet
    is in no popularity view; ``recsys up`` runs a worker in-process whose spine
    tables know those items, and lists them after the engaged ones (item_id order),
    so a new namespace is not empty. Shown items are re-read at most once a second.
    """

    def __init__(self, views: PopularityView, counts: FaustCountsView) -> None:
        self.views = views
        self.counts = counts
        self._shown: dict[tuple[str, str], tuple[float, list[str]]] = {}

    def _shown_items(self, tenant: str, surface: str) -> list[str]:
        now = time.monotonic()
        cached = self._shown.get((tenant, surface))
        if cached is None or now - cached[0] > SHOWN_CACHE_S:
            items = sorted(c.item_id for c in self.counts.counts(tenant, surface) if c.shown)
            cached = (now, items)
            self._shown[(tenant, surface)] = cached
        return cached[1]

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        top = self.views.top(tenant, surface, n, now_ms)
        if len(top) >= n:
            return top
        seen = {s.item_id for s in top}
        rest = [i for i in self._shown_items(tenant, surface) if i not in seen]
        return top + [ScoredItem(i, 0.0) for i in rest[: n - len(top)]]

    def score(self, tenant: str, surface: str, item_id: str, now_ms: int) -> float:
        return self.views.score(tenant, surface, item_id, now_ms)
