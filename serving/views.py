"""What serving reads, as protocols: request handlers never see Kafka or Faust."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """How often an item was shown in a namespace, and engaged with overall."""

    item_id: str
    shown: int
    engaged: int


# --- Views of the stream-state issue (popularity, co-visitation, catalog, history) ---
#
# Published by the stream workers to compacted view topics and held in memory by a
# ``ViewReader`` in every serving replica; request handling reads them only through
# these protocols, so request tests run on the in-memory fakes below.


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item_id: str
    score: float


@dataclass(frozen=True, slots=True)
class ItemMeta:
    """Catalog metadata used by constraints and rules (tags are lowercased)."""

    item_id: str
    tags: frozenset[str] = frozenset()
    price: float | None = None
    created_at_ms: int | None = None
    available: bool = True


class PopularityView(Protocol):
    """Decayed popularity top-K per (tenant, surface)."""

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        """Up to ``n`` items, score decayed to ``now_ms``, score desc then item_id asc."""
        ...

    def score(self, tenant: str, surface: str, item_id: str, now_ms: int) -> float:
        """The item's decayed score at ``now_ms``; 0.0 when it is not in the top-K."""
        ...


class CovisitationView(Protocol):
    """Co-visitation neighbours per (tenant, surface, item)."""

    def neighbors(self, tenant: str, surface: str, item_id: str, n: int) -> list[ScoredItem]:
        """Up to ``n`` neighbours, pair count desc then item_id asc (score = count)."""
        ...


class CatalogView(Protocol):
    def get(self, tenant: str, item_id: str) -> ItemMeta | None: ...


@runtime_checkable
class CatalogListing(Protocol):
    """A catalog that can also list a tenant's newest items (for the catalog fallback,
    ``serving.engine.catalog_fill``); a catalog without it gets no fallback."""

    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        """Up to ``n`` available items: ``created_at`` desc, undated last, item_id asc."""
        ...


class HistoryView(Protocol):
    def recent(self, tenant: str, user_id: str, n: int) -> list[tuple[str, int]]:
        """Up to ``n`` (item_id, ts_ms) the user engaged with, newest first."""
        ...


class BulkViews(Protocol):
    """Optional bulk reads a view may add to the protocols above (``ViewState`` does).

    The engine uses them when present (one call per ranking stage instead of one call and
    one object per item) and must get the very answers the per-item methods give:
    ``top_pairs`` is ``top`` as pairs, ``scores_of`` is ``score`` of each id,
    ``neighbour_pairs`` is ``neighbors`` as pairs, ``metas`` is ``get`` of each id, in a
    new dict per call (the engine keeps it and adds to it).
    """

    def top_pairs(self, tenant: str, surface: str, n: int,
                  now_ms: int) -> Sequence[tuple[str, float]]: ...

    def scores_of(self, tenant: str, surface: str, ids: Iterable[str],
                  now_ms: int) -> dict[str, float]: ...

    def neighbour_pairs(self, tenant: str, surface: str, item_id: str,
                        n: int) -> Sequence[tuple[str, float]]: ...

    def metas(self, tenant: str, ids: Iterable[str]) -> dict[str, ItemMeta | None]: ...


def newest_first(metas: Iterable[ItemMeta], n: int) -> list[ItemMeta]:
    """The reference listing of ``CatalogListing.newest`` (sorts: for fakes and tests)."""
    listed = [m for m in metas if m.available]
    listed.sort(key=lambda m: (m.created_at_ms is None, -(m.created_at_ms or 0), m.item_id))
    return listed[:max(n, 0)]


class InMemoryViews:
    """One in-memory fake implementing all four view protocols and ``CatalogListing``
    (tests, benches)."""

    def __init__(self) -> None:
        self.popularity: dict[tuple[str, str], dict[str, float]] = {}
        self.covisitation: dict[tuple[str, str, str], dict[str, float]] = {}
        self.catalog: dict[tuple[str, str], ItemMeta] = {}
        self.history: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        scores = self.popularity.get((tenant, surface), {})
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [ScoredItem(i, s) for i, s in ranked]

    def score(self, tenant: str, surface: str, item_id: str, now_ms: int) -> float:
        return self.popularity.get((tenant, surface), {}).get(item_id, 0.0)

    def neighbors(self, tenant: str, surface: str, item_id: str, n: int) -> list[ScoredItem]:
        counts = self.covisitation.get((tenant, surface, item_id), {})
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [ScoredItem(i, s) for i, s in ranked]

    def get(self, tenant: str, item_id: str) -> ItemMeta | None:
        return self.catalog.get((tenant, item_id))

    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        return newest_first((m for (t, _), m in self.catalog.items() if t == tenant), n)

    def recent(self, tenant: str, user_id: str, n: int) -> list[tuple[str, int]]:
        return list(self.history.get((tenant, user_id), []))[:n]
