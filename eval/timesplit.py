"""Time split (``offline.time_split``): only the test window filters, inclusively (§1.8)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar


class _Stamped(Protocol):
    @property
    def ts(self) -> datetime | None: ...


T = TypeVar("T", bound=_Stamped)


@dataclass(frozen=True, slots=True)
class Window:
    """A closed interval ``[start, end]`` of event time."""

    start: datetime
    end: datetime

    def contains(self, ts: datetime | None) -> bool:
        """True iff ts is inside the window; a missing ts (Go's zero time) is not."""
        return ts is not None and self.start <= ts <= self.end


def within(records: Iterable[T], window: Window) -> Iterator[T]:
    """The records whose own ``ts`` lies in the window (exposures and outcomes independently)."""
    return (record for record in records if window.contains(record.ts))
