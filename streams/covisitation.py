"""Co-visitation counts and neighbour lists, as a pure reducer.

Counts are kept per (tenant, surface) in both directions: a pair {a, b} adds 1 to
``a → b`` and to ``b → a``. An item's neighbours are ranked by count desc, then
item_id asc, and cut to ``top_n`` (default 50).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

Namespace = tuple[str, str]


def directed(tenant: str, surface: str, a: str, b: str) -> list[tuple[str, str, str, str]]:
    """The two directed increments of an unordered pair."""
    return [(tenant, surface, a, b), (tenant, surface, b, a)]


def batch_counts(
    pairs: Iterable[tuple[str, str, str, str]],
) -> Counter[tuple[str, str, str, str]]:
    """Batch twin: directed pair counts from unordered (tenant, surface, a, b) pairs."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for tenant, surface, a, b in pairs:
        for key in directed(tenant, surface, a, b):
            counts[key] += 1
    return counts


def neighbours(counts: Mapping[str, int], top_n: int) -> list[tuple[str, int]]:
    """Top ``top_n`` neighbours of one anchor: count desc, item_id asc."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]


def neighbour_lists(
    counts: Mapping[tuple[str, str, str, str], int], top_n: int
) -> dict[tuple[str, str, str], list[tuple[str, int]]]:
    """Every anchor's neighbour list, keyed by (tenant, surface, anchor)."""
    by_anchor: dict[tuple[str, str, str], dict[str, int]] = {}
    for (tenant, surface, a, b), c in counts.items():
        by_anchor.setdefault((tenant, surface, a), {})[b] = c
    return {k: neighbours(v, top_n) for k, v in by_anchor.items()}
