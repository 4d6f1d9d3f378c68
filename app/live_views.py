"""Adapters that let serving read the worker's Faust tables in the same process."""

from __future__ import annotations

import faust

from serving.views import ItemCounts
from streams.agents import StreamTables
from streams.counts import merge_counts


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
        # faust's TableManager has .recovery at run time; its type stub does not say so
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        return bool(recovery.completed.is_set())
