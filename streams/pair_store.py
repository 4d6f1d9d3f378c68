"""The item stage's table data, with co-visitation pairs kept compact (pure, in memory).

The item table holds one key per directed pair, ``c␟tenant␟surface␟anchor␟neighbour``
→ ``[count, offset]`` (see ``streams.stages.item_stage``). Faust's memory store keeps
each as a Python string key and a list: ~160 bytes per pair, plus ~160 more for the copy
the view index kept to publish neighbour lists from.

``PairMap`` is a drop-in ``MutableMapping`` for that table. It stores the pairs by
anchor (one ``c␟tenant␟surface␟anchor`` string per anchor), the neighbour strings
interned (one string per item, shared by every pair that names it), and each value
packed into one int (``offset << 32 | count``). The keys and values it hands out are
rebuilt on the way out, so the stages and the changelog see exactly what a dict would
give them. The view index publishes from it (``counts``), so no second copy is kept.
Values that do not fit the packing (a count of 2³² or more, anything not a pair of
non-negative ints) are kept as given, wrapped.

``streams.stores.PairTableStore`` is the Faust store using it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from streams.keys import SEP

PAIR_PREFIX = "c" + SEP
COUNT_BITS = 32
COUNT_MASK = (1 << COUNT_BITS) - 1
Anchor = tuple[str, str, str]
"""(tenant, surface, anchor)."""


_MISSING: Any = object()


class _Kept:
    """A pair value that does not pack, stored as given."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _pack(value: Any) -> int | _Kept:
    if type(value) is list and len(value) == 2:
        count, offset = value
        if type(count) is int and type(offset) is int and 0 <= count <= COUNT_MASK and offset >= 0:
            return offset << COUNT_BITS | count
    return _Kept(value)


def _unpack(stored: int | _Kept) -> Any:
    if type(stored) is int:
        return [stored & COUNT_MASK, stored >> COUNT_BITS]
    assert isinstance(stored, _Kept)
    return stored.value


def _count(stored: int | _Kept) -> int:
    if type(stored) is int:
        return stored & COUNT_MASK
    assert isinstance(stored, _Kept)
    return int(stored.value[0])


def _split(key: str) -> tuple[str, str] | None:
    """(head ``c␟tenant␟surface␟anchor``, neighbour) of a pair key; ``None`` otherwise.

    Any key under the pair prefix splits at its last separator, a bijection, so the
    map agrees with a dict even for keys that are not well-formed pairs."""
    if not key.startswith(PAIR_PREFIX):
        return None
    head, _, neighbour = key.rpartition(SEP)
    return head, neighbour


def _head(anchor: Anchor) -> str:
    return SEP.join(("c", *anchor))


class PairMap(MutableMapping[str, Any]):
    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self.rows: dict[str, dict[str, int | _Kept]] = {}
        """``c␟tenant␟surface␟anchor`` → neighbour → packed value."""
        self.other: dict[str, Any] = {}
        """Every key that is not a pair (popularity, marks), as given."""
        self.row_partition: dict[str, int] = {}
        """The changelog partition each anchor's pairs were written to (``set_at``);
        keyed by the same string objects as ``rows``."""
        self._pairs = 0
        self.update(items)

    # --- the mapping -------------------------------------------------------------------

    # get is the item stage's hot path: the splitting and unpacking are inlined.

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if not key.startswith(PAIR_PREFIX):
            return self.other.get(key, default)
        head, _, neighbour = key.rpartition(SEP)
        row = self.rows.get(head)
        stored = row.get(neighbour) if row is not None else None
        if stored is None:
            return default
        if type(stored) is int:
            return [stored & COUNT_MASK, stored >> COUNT_BITS]
        return _unpack(stored)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        split = _split(key)
        if split is None:
            return key in self.other
        row = self.rows.get(split[0])
        return row is not None and split[1] in row

    def __setitem__(self, key: str, value: Any) -> None:
        if key.startswith(PAIR_PREFIX):
            self._put_pair(key, value)
        else:
            self.other[key] = value

    def is_pair(self, key: str) -> bool:
        return key.startswith(PAIR_PREFIX)

    def set_at(self, key: str, value: Any, partition: int) -> None:
        """Set a pair key written to changelog ``partition`` (remembered per anchor)."""
        self.row_partition[self._put_pair(key, value)] = partition

    def _put_pair(self, key: str, value: Any) -> str:
        """Store a pair; returns its anchor's row key (a new row keeps this string, an
        existing one its own, so ``row_partition`` shares the strings of ``rows``)."""
        head, _, neighbour = key.rpartition(SEP)
        row = self.rows.get(head)
        if row is None:
            row = self.rows[head] = {}
        if neighbour not in row:
            neighbour = sys.intern(neighbour)
            self._pairs += 1
        row[neighbour] = _pack(value)
        return head

    def keep_partitions(self, owned: set[int]) -> None:
        """Drop the anchors last written to a partition not in ``owned`` (anchors with
        no recorded partition stay)."""
        for head, partition in list(self.row_partition.items()):
            if partition not in owned:
                self._pairs -= len(self.rows.pop(head, {}))
                del self.row_partition[head]

    def __delitem__(self, key: str) -> None:
        split = _split(key)
        if split is None:
            del self.other[key]
            return
        head, neighbour = split
        row = self.rows.get(head)
        if row is None or neighbour not in row:
            raise KeyError(key)
        del row[neighbour]
        self._pairs -= 1
        if not row:
            del self.rows[head]
            self.row_partition.pop(head, None)

    def __iter__(self) -> Iterator[str]:
        yield from list(self.other)
        for head, row in list(self.rows.items()):
            for neighbour in list(row):
                yield head + SEP + neighbour

    def __len__(self) -> int:
        return len(self.other) + self._pairs

    def clear(self) -> None:
        self.rows.clear()
        self.other.clear()
        self.row_partition.clear()
        self._pairs = 0

    def copy(self) -> dict[str, Any]:
        """A plain dict of the same keys and values (Faust's store may ask for one)."""
        return dict(self.items())

    # --- what the view index reads -----------------------------------------------------

    def anchors(self) -> Iterator[Anchor]:
        """Every (tenant, surface, anchor) that has at least one neighbour."""
        for head in self.rows:
            parts = head.split(SEP)
            if len(parts) == 4:
                yield parts[1], parts[2], parts[3]

    def counts(self, anchor: Anchor) -> dict[str, int]:
        """The anchor's neighbours and their counts (a new dict; empty when unknown)."""
        row = self.rows.get(_head(anchor))
        return {b: _count(v) for b, v in row.items()} if row else {}


def anchor_of(key: str) -> Anchor | None:
    """(tenant, surface, anchor) of a well-formed pair key, ``None`` for any other key."""
    if not key.startswith(PAIR_PREFIX):
        return None
    parts = key.split(SEP)
    return (parts[1], parts[2], parts[3]) if len(parts) == 5 else None
