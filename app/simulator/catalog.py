"""A seeded demo catalog: items with a category, a brand and a price (pure).

Every item has exactly one category and one brand; each brand sells in one home
category, so brand and category tastes agree. Category sizes are Zipf-like (a few big
categories, a long tail) and prices are log-normal around a per-category level, so
"expensive" means something different for shoes and for books. Tags follow the
``item.v1`` convention for rules and caps: ``category:c07``, ``brand:b042``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schemas.events import Item


@dataclass(frozen=True, slots=True)
class CatalogItem:
    item_id: str
    category: int
    brand: int
    price: float

    @property
    def tags(self) -> tuple[str, str]:
        return (category_tag(self.category), brand_tag(self.brand))


def category_tag(category: int) -> str:
    return f"category:c{category:02d}"


def brand_tag(brand: int) -> str:
    return f"brand:b{brand:03d}"


@dataclass(frozen=True)
class Catalog:
    """The items plus column arrays (category, brand, price) for vectorised scoring."""

    items: tuple[CatalogItem, ...]
    n_categories: int
    n_brands: int
    brand_category: tuple[int, ...]
    """The home category of every brand."""
    by_id: dict[str, int] = field(init=False, repr=False, compare=False)
    categories: np.ndarray = field(init=False, repr=False, compare=False)
    brands: np.ndarray = field(init=False, repr=False, compare=False)
    prices: np.ndarray = field(init=False, repr=False, compare=False)
    reference_price: float = field(init=False, repr=False, compare=False)
    _members: dict[int, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    """The median price: the scale of a user's price sensitivity."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {it.item_id: i for i, it in enumerate(self.items)})
        object.__setattr__(self, "categories", np.array([it.category for it in self.items]))
        object.__setattr__(self, "brands", np.array([it.brand for it in self.items]))
        object.__setattr__(self, "prices", np.array([it.price for it in self.items]))
        members: dict[int, list[str]] = {}
        for it in self.items:
            members.setdefault(it.category, []).append(it.item_id)
        object.__setattr__(self, "_members", {c: tuple(v) for c, v in members.items()})
        median = float(np.median(self.prices)) if self.items else 1.0
        object.__setattr__(self, "reference_price", median)

    def __len__(self) -> int:
        return len(self.items)

    def members(self, category: int) -> tuple[str, ...]:
        """The item ids of one category, in catalog order."""
        return self._members.get(category, ())

    def get(self, item_id: str) -> CatalogItem | None:
        index = self.by_id.get(item_id)
        return None if index is None else self.items[index]



def make_catalog(
    rng: np.random.Generator,
    *,
    n_items: int = 3000,
    n_categories: int = 24,
    brands_per_category: int = 5,
    zipf_exponent: float = 0.8,
    price_sigma: float = 0.5,
) -> Catalog:
    """``n_items`` items over ``n_categories`` (share ∝ 1/rank^zipf_exponent), each with a
    brand of its category and a price ``exp(N(log level_c, price_sigma))`` rounded to cents,
    where ``level_c = 20·exp(N(0, 0.8))`` is the category's price level."""
    if n_items < 1 or n_categories < 1 or brands_per_category < 1:
        raise ValueError("n_items, n_categories and brands_per_category must be ≥ 1")
    share = 1.0 / np.arange(1, n_categories + 1) ** zipf_exponent
    share /= share.sum()
    categories = rng.choice(n_categories, size=n_items, p=share)
    within = rng.integers(0, brands_per_category, size=n_items)
    brands = categories * brands_per_category + within
    level = 20.0 * np.exp(rng.normal(0.0, 0.8, size=n_categories))
    prices = np.round(np.exp(rng.normal(np.log(level[categories]), price_sigma)), 2)
    prices = np.maximum(prices, 0.01)
    items = tuple(
        CatalogItem(f"item-{i:05d}", int(c), int(b), float(p))
        for i, (c, b, p) in enumerate(zip(categories, brands, prices, strict=True))
    )
    n_brands = n_categories * brands_per_category
    return Catalog(items, n_categories, n_brands,
                   tuple(b // brands_per_category for b in range(n_brands)))


def item_events(catalog: Catalog, tenant: str) -> list[Item]:
    """The catalog as ``item.v1`` events (available, no namespace: every surface)."""
    return [Item(item_id=it.item_id, tenant=tenant, tags=it.tags, available=True,
                 price=it.price) for it in catalog.items]
