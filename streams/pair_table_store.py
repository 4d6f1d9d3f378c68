"""Faust's in-memory table store, holding its data in a ``PairMap`` (compact pairs).

Use it with ``app.Table(..., store=PAIR_STORE_URL)`` after ``register()``. Recovery
applies changelog records in order into the ``PairMap``; the partition each record came
from is remembered per anchor for pairs (not per key, as Faust's memory store does, which
would keep a string per pair), so the keys of partitions this worker no longer owns are
still dropped when recovery completes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust.stores
from faust.stores import memory
from faust.types import TP, EventT

from streams.pair_store import Anchor, PairMap, anchor_of

PAIR_STORE_URL = "recsys-pairs://local/"  # a URL with a host: yarl makes "x://" falsy


def register() -> None:
    """Make ``recsys-pairs://`` name this store in Faust's store registry."""
    faust.stores.STORES.aliases.setdefault("recsys-pairs", f"{__name__}:PairTableStore")


class PairTableStore(memory.Store[str, Any]):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.data: PairMap = PairMap()
        self._anchor_partition: dict[Anchor, int] = {}

    def apply_changelog_batch(
        self,
        batch: Iterable[EventT[Any]],
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        data = self.data
        for event in batch:
            key = to_key(event.key)
            anchor = anchor_of(key) if isinstance(key, str) else None
            if anchor is not None:
                self._anchor_partition[anchor] = event.message.partition
            else:
                self._key_partition[key] = event.message.partition
            if event.message.value is None:
                data.pop(key, None)
            else:
                data[key] = to_value(event.value)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        owned = {partition for _, partition in active_tps}
        for anchor, partition in list(self._anchor_partition.items()):
            if partition not in owned:
                self.data.drop_anchor(anchor)
                del self._anchor_partition[anchor]
        await super().on_recovery_completed(active_tps, standby_tps)
