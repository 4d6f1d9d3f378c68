"""Optional diversity (spec §5.6): MMR re-selection and brand/category caps.

MMR picks, one at a time, the candidate maximising
``λ·(score / max_score) − (1 − λ)·max_j Jaccard(tags, tags_j)`` over the items already
selected (Carbonell & Goldstein 1998); ties go to score desc, then item_id asc.
Caps allow at most ``brand_cap`` items per brand value (``brand:`` tags) and
``category_cap`` per category value; 0 switches a cap off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _values(tags: frozenset[str], prefixes: tuple[str, ...]) -> set[str]:
    return {t[len(p):] for t in tags for p in prefixes if t.startswith(p)}


@dataclass(slots=True)
class Caps:
    brand_cap: int
    category_cap: int
    brand_prefixes: tuple[str, ...]
    category_prefixes: tuple[str, ...]
    brands: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)

    def allows(self, tags: frozenset[str]) -> bool:
        if self.brand_cap > 0 and any(
            self.brands[b] >= self.brand_cap for b in _values(tags, self.brand_prefixes)
        ):
            return False
        return not (self.category_cap > 0 and any(
            self.categories[c] >= self.category_cap
            for c in _values(tags, self.category_prefixes)))

    def take(self, tags: frozenset[str]) -> None:
        self.brands.update(_values(tags, self.brand_prefixes))
        self.categories.update(_values(tags, self.category_prefixes))


def mmr_next(
    remaining: Iterable[str],
    scores: dict[str, float],
    selected_tags: list[frozenset[str]],
    tags_of: Callable[[str], frozenset[str]],
    lam: float,
    max_score: float,
) -> str:
    """The candidate MMR selects next (``remaining`` must not be empty)."""
    scale = max_score if max_score > 0 else 1.0

    def value(item: str) -> tuple[float, float, str]:
        tags = tags_of(item)
        sim = max((jaccard(tags, t) for t in selected_tags), default=0.0)
        mmr = lam * (scores[item] / scale) - (1 - lam) * sim
        return (-mmr, -scores[item], item)

    return min(remaining, key=value)
