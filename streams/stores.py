"""Faust table stores of ours: in memory, knowing the changelog partition of every key.

Faust's memory store remembers the partition only of the keys it recovered from a
changelog; when a recovery completes it drops those whose partition this worker no
longer holds. Our agents write their tables themselves (``streams.batch_io.persist``),
so Faust never learnt those keys' partitions: after a rebalance a worker kept the keys of
the partitions it had handed over, and its recovery callbacks rebuilt the view index
from them — republishing stale values over the new owner's at the next rebalance.
``write`` records the partition of every key it writes, so the drop covers them all.

``PairTableStore`` is the item table's store: its data is a ``PairMap`` (compact
co-visitation pairs), which keeps the partition per anchor instead of per key.

Use them with ``app.Table(..., store=MEMORY_STORE_URL | PAIR_STORE_URL)`` after
``register()``, when the app's store is ``memory://`` (``RECSYS_STORE``); a
``rocksdb://`` store keeps each partition's data apart and drops revoked ones itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import faust
import faust.stores
from faust.stores import memory
from faust.types import TP, EventT

from streams.pair_store import PairMap

log = logging.getLogger(__name__)

# URLs with a host: yarl makes "scheme://" falsy, and Faust then falls back to memory://
MEMORY_STORE_URL = "recsys-memory://local/"
PAIR_STORE_URL = "recsys-pairs://local/"


def uses_memory_store(app: faust.App) -> bool:
    """Whether the app's table store is ``memory://``: then ours replace Faust's."""
    return str(app.conf.store).startswith("memory:")


def register() -> None:
    """Make the two URLs name these stores in Faust's store registry."""
    faust.stores.STORES.aliases.setdefault("recsys-memory", f"{__name__}:TrackedStore")
    faust.stores.STORES.aliases.setdefault("recsys-pairs", f"{__name__}:PairTableStore")


class TrackedStore(memory.Store[str, Any]):
    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        before = len(self.data)
        await super().on_recovery_completed(active_tps, standby_tps)
        if len(self.data) < before:
            log.info(
                "table %s: dropped %d keys of partitions this worker no longer holds",
                self.table_name, before - len(self.data),
            )

    def write(self, key: str, partition: int, value: Any) -> None:
        """Set ``key`` (delete it for ``None``), written to changelog ``partition``."""
        if value is None:
            self.data.pop(key, None)
            self._key_partition.pop(key, None)
        else:
            self.data[key] = value
            self._key_partition[key] = partition


class PairTableStore(TrackedStore):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.data: PairMap = PairMap()

    def write(self, key: str, partition: int, value: Any) -> None:
        if self.data.is_pair(key):
            if value is None:
                self.data.pop(key, None)
            else:
                self.data.set_at(key, value, partition)
        else:
            super().write(key, partition, value)

    def apply_changelog_batch(
        self,
        batch: Iterable[EventT[Any]],
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        """Apply the records in order (a ``None`` value deletes its key)."""
        for event in batch:
            key = to_key(event.key)
            value = None if event.message.value is None else to_value(event.value)
            self.write(key, event.message.partition, value)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        before = len(self.data)
        self.data.keep_partitions({partition for _, partition in active_tps})
        if len(self.data) < before:
            log.info(
                "table %s: dropped %d pairs of partitions this worker no longer holds",
                self.table_name, before - len(self.data),
            )
        await super().on_recovery_completed(active_tps, standby_tps)


def local_state(table: Any) -> Any:
    """The table's local store, read without the Faust table's per-key hooks (our tasks
    read and write their own keys only; writes go through ``streams.batch_io.persist``).
    For the memory store, its plain dict."""
    store = table.data
    raw = getattr(store, "data", None)
    return raw if isinstance(raw, dict) else store
