"""What serving reads, as protocols: request handlers never see Kafka or Faust."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """How often an item was shown in a namespace, and engaged with overall."""

    item_id: str
    shown: int
    engaged: int


class CountsView(Protocol):
    """Shown/engaged counts per (tenant, surface), read-only."""

    def counts(self, tenant: str, surface: str) -> list[ItemCounts]: ...

    def ready(self) -> bool:
        """True once the state behind the view has been recovered."""
        ...


class BrokerProbe(Protocol):
    async def reachable(self) -> bool: ...


class InMemoryCountsView:
    """A fake/in-memory view for tests and for serving without a worker."""

    def __init__(self, data: dict[tuple[str, str], list[ItemCounts]] | None = None) -> None:
        self.data = data or {}
        self.is_ready = True

    def counts(self, tenant: str, surface: str) -> list[ItemCounts]:
        return list(self.data.get((tenant, surface), []))

    def ready(self) -> bool:
        return self.is_ready
