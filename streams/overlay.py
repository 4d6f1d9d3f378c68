"""A write-behind view of a table: reads see staged writes; ``commit`` applies them.

Stages that emit derived records must not persist the state change that stops them
re-emitting those records before the records are acknowledged by Kafka — otherwise a
crash in between loses them (the changelog and the derived topic are different
partitions, with no order between them). The agents stage writes here, send, await
the acks, then commit the writes to the Faust table.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class Overlay(MutableMapping[str, Any]):
    def __init__(self, base: MutableMapping[str, Any]) -> None:
        self.base = base
        self.staged: dict[str, Any] = {}

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

    def __delitem__(self, key: str) -> None:
        self.staged[key] = _DELETED

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

    def commit(self) -> None:
        """Apply the staged writes to the base table and forget them."""
        for key, value in self.staged.items():
            if value is _DELETED:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.staged.clear()
