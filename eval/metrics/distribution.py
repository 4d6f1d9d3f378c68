"""Dataset-level metrics: coverage, novelty and diversity (spec §3.4).

A ``DistributionTally`` is folded over the cases of one segment (``add``), then
each metric reads it at a given k. The tally keeps, per k in use, the counts of
top-k entries, and once the counts of full-list entries and the relevant items.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence, Set


class DistributionTally:
    """Item frequencies over the recommended lists of a set of cases.

    Top-k counts are kept as full-list counts minus the counts of the tails beyond
    k, so a list no longer than k (the usual case) costs one counter update, not two.
    """

    def __init__(self, ks: Iterable[int]) -> None:
        self.full_counts: Counter[str] = Counter()
        self.full_entries = 0
        self.relevant_items: set[str] = set()
        self.tail_counts: dict[int, Counter[str]] = {k: Counter() for k in set(ks)}

    def add(self, recommended: Sequence[str], relevant: Set[str]) -> None:
        """Fold one case's ranked list and relevant set in."""
        self.full_counts.update(recommended)
        self.full_entries += len(recommended)
        if relevant:
            self.relevant_items.update(relevant)
        for k, tail in self.tail_counts.items():
            if len(recommended) > k:
                tail.update(recommended[k:])

    def merge(self, other: DistributionTally) -> None:
        """Add another tally of disjoint cases (all counts are integers: the sum is exact)."""
        self.full_counts.update(other.full_counts)
        self.full_entries += other.full_entries
        self.relevant_items |= other.relevant_items
        for k, tail in self.tail_counts.items():
            tail.update(other.tail_counts[k])

    def topk_counts(self, k: int) -> Counter[str]:
        """Occurrences of each item within the top k of every list (do not mutate)."""
        tail = self.tail_counts[k]
        return self.full_counts - tail if tail else self.full_counts


def coverage(tally: DistributionTally, k: int) -> float:
    """|distinct items in any top-k| / |distinct items in any full list ∪ any relevant set|."""
    universe = set(tally.full_counts) | tally.relevant_items
    if not universe:
        return 0.0
    return len(tally.topk_counts(k)) / len(universe)


def novelty(tally: DistributionTally, k: int) -> float:
    """Mean over all top-k entries of −log2 pop(i), pop(i) = full-list count / full entries.

    Mean self-information (Zhou et al. 2010, PNAS), popularity from the full lists.
    """
    counts = tally.topk_counts(k)
    entries = sum(counts.values())
    if entries == 0 or tally.full_entries == 0:
        return 0.0
    total = 0.0
    for item, count in counts.items():
        total += count * -math.log2(tally.full_counts[item] / tally.full_entries)
    return total / entries


def diversity(tally: DistributionTally, k: int) -> float:
    """Normalised Shannon entropy H/log2(#distinct) of top-k item frequencies; 0 if ≤1 item."""
    counts = tally.topk_counts(k)
    if len(counts) <= 1:
        return 0.0
    entries = sum(counts.values())
    entropy = 0.0
    for count in counts.values():
        share = count / entries
        entropy -= share * math.log2(share)
    return entropy / math.log2(len(counts))
