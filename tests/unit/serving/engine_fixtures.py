"""Small hand-checkable namespaces shared by the engine tests."""

from __future__ import annotations

from serving.engine.model import RankQuery, ViewSet
from serving.engine.weights import Weights
from serving.views import InMemoryViews, ItemMeta, ScoredItem

T, S = "t1", "home"
NOW = 1_700_000_000_000


def meta(item: str, *tags: str, available: bool = True) -> ItemMeta:
    return ItemMeta(item, frozenset(tags), available=available)


def small_views() -> InMemoryViews:
    """pop a=4 (norm 0.8), b=3 (0.75), c=1 (0.5), d=0.25 (0.2); z is catalogued, not popular."""
    v = InMemoryViews()
    v.popularity[(T, S)] = {"a": 4.0, "b": 3.0, "c": 1.0, "d": 0.25}
    for m in (meta("a", "red"), meta("b", "blue"), meta("c", "red"), meta("d"),
              meta("z", "green")):
        v.catalog[(T, m.item_id)] = m
    return v


def viewset(v: object) -> ViewSet:
    return ViewSet(v, v, v, v)  # type: ignore[arg-type]


def query(**kw: object) -> RankQuery:
    base: dict[str, object] = {"tenant": T, "surface": S, "k": 3, "now_ms": NOW,
                               "weights": Weights(1.0, 0.0, 0.0)}
    base.update(kw)
    return RankQuery(**base)  # type: ignore[arg-type]


class BrokenCovisitation(InMemoryViews):
    """Co-visitation lookups fail for the anchors named in ``broken``."""

    def __init__(self, base: InMemoryViews, broken: set[str]) -> None:
        super().__init__()
        self.__dict__.update(base.__dict__)
        self.broken = broken

    def neighbors(self, tenant: str, surface: str, item_id: str, n: int) -> list[ScoredItem]:
        if item_id in self.broken:
            raise RuntimeError(f"partition for {item_id} not loaded")
        return super().neighbors(tenant, surface, item_id, n)


class BrokenCatalog(InMemoryViews):
    def __init__(self, base: InMemoryViews) -> None:
        super().__init__()
        self.__dict__.update(base.__dict__)

    def get(self, tenant: str, item_id: str) -> ItemMeta | None:
        raise RuntimeError("catalog view not loaded")
