"""The values the engine takes and returns (frozen dataclasses, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.fast_init import mutable_twin
from serving.engine.rules import Rule
from serving.engine.warnings import ServingWarning
from serving.engine.weights import Weights
from serving.views import CatalogView, CovisitationView, HistoryView, PopularityView


@dataclass(frozen=True, slots=True)
class ViewSet:
    """The views one ranking reads (the in-memory fake or the Kafka-backed reader)."""

    popularity: PopularityView
    covisitation: CovisitationView | None
    catalog: CatalogView
    history: HistoryView | None


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Knobs of the engine; defaults follow the original where it has one (spec §5)."""

    max_pin_slots: int = 3
    # pool per source = max(fanout_factor·k, popularity_fanout); the original's fanout of
    # k left no spare candidates to backfill from
    popularity_fanout: int = 0
    fanout_factor: int = 2
    covis_per_anchor: int = 200
    history_anchors: int = 10
    max_injected_anchors: int = 50
    mmr_lambda: float = 0.0
    brand_cap: int = 0
    category_cap: int = 0
    brand_prefixes: tuple[str, ...] = ("brand:",)
    category_prefixes: tuple[str, ...] = ("category:", "cat:")

    @property
    def diversity_on(self) -> bool:
        return self.mmr_lambda > 0 or self.brand_cap > 0 or self.category_cap > 0


@dataclass(frozen=True, slots=True)
class RankQuery:
    """One normalised ranking request in a namespace (tenant, surface)."""

    tenant: str
    surface: str
    k: int
    now_ms: int
    weights: Weights
    segment: str = "default"
    mode: str = "blend"
    user_id: str | None = None
    anchors: tuple[str, ...] = ()
    include_ids: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    required_tags: tuple[str, ...] = ()
    forbidden_tags: tuple[str, ...] = ()
    max_per_tag: tuple[tuple[str, int], ...] = ()
    rules: tuple[Rule, ...] = ()
    include_reasons: bool = False
    explain: str = "none"
    # tenant flag catalog_fallback: top a short pool up from the catalog (catalog_fill.py)
    catalog_fill: bool = False


@dataclass(frozen=True, slots=True)
class RankedItem:
    item_id: str
    rank: int
    score: float
    pinned: bool = False
    reasons: tuple[str, ...] | None = None
    explain: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"item_id": self.item_id, "rank": self.rank, "score": self.score}
        if self.reasons is not None:
            doc["reasons"] = list(self.reasons)
        if self.explain is not None:
            doc["explain"] = self.explain
        return doc


_RANKED_TWIN: Any = mutable_twin(RankedItem)


def ranked_item(item_id: str, rank: int, score: float, pinned: bool) -> RankedItem:
    """``RankedItem(item_id, rank, score, pinned)`` at under half the cost (0.8 µs against
    2.1 µs on the bench machine): the frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` per field; this fills a mutable twin with the same slots and
    switches its class once (the instance is the same frozen value, equal to the one
    ``__init__`` makes)."""
    twin = _RANKED_TWIN
    if twin is None:
        return RankedItem(item_id, rank, score, pinned)
    item = object.__new__(twin)
    item.item_id, item.rank, item.score, item.pinned = item_id, rank, score, pinned
    item.reasons = item.explain = None
    item.__class__ = RankedItem
    return item  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class RankResult:
    items: tuple[RankedItem, ...]
    warnings: tuple[ServingWarning, ...] = ()
    model_version: str = "popularity_v1"
    anchors: tuple[str, ...] = field(default=())
