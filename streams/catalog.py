"""Catalog: item.v1 records → item metadata (latest record per item wins)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import Item


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    item_id: str
    tenant: str
    namespace: str
    tags: tuple[str, ...]
    price: float | None
    created_at_ms: int | None
    available: bool


def entry(item: Item) -> CatalogEntry:
    """Normalise an item record: tags lowercased, trimmed, de-duplicated, sorted."""
    tags = tuple(sorted({t.strip().lower() for t in item.tags if t.strip()}))
    return CatalogEntry(
        item.item_id,
        item.tenant,
        item.namespace or "default",
        tags,
        item.price,
        item.timestamp_ms,
        item.available,
    )


def batch_catalog(items: Iterable[Item]) -> dict[tuple[str, str], CatalogEntry]:
    """Batch twin: (tenant, item_id) → entry, the last record of each item winning."""
    return {(e.tenant, e.item_id): e for e in map(entry, items)}
