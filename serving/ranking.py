"""First ranking: engagement count, then shown count, then item_id (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from serving.views import ItemCounts


@dataclass(frozen=True, slots=True)
class RankedItem:
    item_id: str
    rank: int
    score: float


def rank_by_engagement(rows: Iterable[ItemCounts], k: int) -> list[RankedItem]:
    """Top ``k`` items by engaged desc, shown desc, item_id asc; score = engaged count."""
    ordered = sorted(rows, key=lambda r: (-r.engaged, -r.shown, r.item_id))[:k]
    return [RankedItem(r.item_id, i, float(r.engaged)) for i, r in enumerate(ordered, start=1)]
