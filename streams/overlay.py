"""A write-behind view of a table: reads see staged writes; ``commit`` applies them.

Stages that emit derived records must not persist the state change that stops them
re-emitting those records before the records are acknowledged by Kafka — otherwise a
crash in between loses them (the changelog and the derived topic are different
partitions, with no order between them). The agents stage a whole batch of input
records here, send what it derived, await the acks, then persist the writes — each
key once per batch, to the changelog partition of the input record that wrote it
(``partition`` is set by the caller before each record).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class Overlay(MutableMapping[str, Any]):
    def __init__(self, base: MutableMapping[str, Any]) -> None:
        self.base = base
        self.staged: dict[str, Any] = {}
        self.partition = 0
        """The input partition of the record being processed (written keys remember it)."""
        self.partitions: dict[str, int] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.staged:
            value = self.staged[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.base[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.staged:
            value = self.staged[key]
            return default if value is _DELETED else value
        return self.base.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.staged[key] = value
        self.partitions[key] = self.partition

    def __delitem__(self, key: str) -> None:
        self.staged[key] = _DELETED
        self.partitions[key] = self.partition

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for key, value in self.staged.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        for key in self.base:
            if key not in seen:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def writes(self) -> Iterator[tuple[str, int, Any]]:
        """(key, partition, value) per staged key; ``None`` for a deleted key."""
        for key, value in self.staged.items():
            yield key, self.partitions[key], None if value is _DELETED else value

    def commit(self) -> None:
        """Apply the staged writes to the base table and forget them."""
        for key, value in self.staged.items():
            if value is _DELETED:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.clear()

    def clear(self) -> None:
        self.staged.clear()
        self.partitions.clear()
