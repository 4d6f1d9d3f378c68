"""The values the engine takes and returns (frozen dataclasses, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


_SET_RANKED = tuple(RankedItem.__dict__[name].__set__
                    for name in ("item_id", "rank", "score", "pinned", "reasons", "explain"))


def ranked_item(item_id: str, rank: int, score: float, pinned: bool) -> RankedItem:
    """``RankedItem(item_id, rank, score, pinned)`` at half the cost: the frozen dataclass's
    ``__init__`` goes through ``object.__setattr__`` per field; this fills the slots
    directly (the instance is the same frozen value, equal to the one ``__init__`` makes)."""
    item = object.__new__(RankedItem)
    set_id, set_rank, set_score, set_pinned, set_reasons, set_explain = _SET_RANKED
    set_id(item, item_id)
    set_rank(item, rank)
    set_score(item, score)
    set_pinned(item, pinned)
    set_reasons(item, None)
    set_explain(item, None)
    return item


@dataclass(frozen=True, slots=True)
class RankResult:
    items: tuple[RankedItem, ...]
    warnings: tuple[ServingWarning, ...] = ()
    model_version: str = "popularity_v1"
    anchors: tuple[str, ...] = field(default=())
