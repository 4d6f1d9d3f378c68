"""Coverage, novelty and diversity on columns: bit-identical twins of ``eval.metrics.distribution``.

A ``Distribution`` holds what a ``DistributionTally`` holds, as arrays in the order
the tally's counters iterate (first appearance in the segment's lists; for the
whole dataset, the segments' orders merged in segment order, as ``merge`` does),
because the float sums of novelty and diversity are taken in that order.
Logarithms come from ``math.log2`` once per distinct count, so every term is the
scalar code's; sums are sequential (``cumsum`` from 0.0, as ``total += …``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eval.columnar.interner import IntArray
from eval.columnar.join import CaseColumns

FloatArray = npt.NDArray[np.float64]
DENSE_PAIRS = 1 << 25  # segments × items below this: per-pair counts in flat arrays


@dataclass(frozen=True)
class Distribution:
    """Item counts of one segment (or all cases), in the reference tally's order."""

    full: IntArray  # occurrences in full lists, per distinct item
    top: Mapping[int, IntArray]  # per k: occurrences within the top k (same items)
    full_entries: int
    universe: int  # distinct items in any full list or any relevant set

    def topk(self, k: int) -> IntArray:
        """The positive top-k counts, in order (the reference's ``topk_counts``)."""
        counts = self.top[k]
        positive: IntArray = counts[counts > 0]
        return positive


def _log2_of_ratio(counts: IntArray, denominator: int) -> FloatArray:
    """math.log2(count / denominator) of each positive count, once per distinct count.

    ``count / denominator`` is the same float in NumPy and in Python (both operands
    are exact, the division correctly rounded), so each term is the scalar code's.
    """
    largest = int(counts.max(initial=0))
    if largest <= 1 << 16:  # a table by count: no sort
        distinct = np.flatnonzero(np.bincount(counts, minlength=largest + 1))
        table = np.zeros(largest + 1, dtype=np.float64)
        table[distinct] = [math.log2(c / denominator) for c in distinct.tolist()]
        by_count: FloatArray = table[counts]
        return by_count
    values, inverse = np.unique(counts, return_inverse=True)
    logs = np.array([math.log2(c / denominator) for c in values.tolist()], dtype=np.float64)
    result: FloatArray = logs[inverse.reshape(-1)]
    return result


def _sequential_sum(terms: FloatArray) -> float:
    """0.0 + t1 + t2 + … left to right."""
    return float(np.cumsum(np.concatenate(([0.0], terms)))[-1])


def coverage(d: Distribution, k: int) -> float:
    """Twin of ``distribution.coverage``."""
    if not d.universe:
        return 0.0
    return int(np.count_nonzero(d.top[k])) / d.universe


def novelty(d: Distribution, k: int) -> float:
    """Twin of ``distribution.novelty``: Σ count·(−log2 pop) / entries, in tally order."""
    mask = d.top[k] > 0
    counts = d.top[k][mask]
    entries = int(counts.sum())
    if entries == 0 or d.full_entries == 0:
        return 0.0
    return _sequential_sum(counts * -_log2_of_ratio(d.full[mask], d.full_entries)) / entries


def diversity(d: Distribution, k: int) -> float:
    """Twin of ``distribution.diversity``: normalised Shannon entropy of top-k counts."""
    counts = d.topk(k)
    if len(counts) <= 1:
        return 0.0
    entries = int(counts.sum())
    shares = counts / entries
    return _sequential_sum(-(shares * _log2_of_ratio(counts, entries))) / math.log2(len(counts))


DATASET_BATCH: dict[str, Callable[[Distribution, int], float]] = {
    "coverage": coverage,
    "novelty": novelty,
    "diversity": diversity,
}


def distributions(
    cases: CaseColumns, segment: IntArray, segments: int, ks: Sequence[int]
) -> tuple[list[Distribution], Distribution]:
    """The distribution of each segment (ids in creation order) and of all cases."""
    lengths, items = cases.lengths, cases.items
    entries = len(items)
    case_of_entry = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(entries) - np.repeat(starts, lengths)
    n_items = int(items.max(initial=-1)) + 1
    n_items = max(n_items, int(cases.relevant_items.max(initial=-1)) + 1, 1)
    seg_of_entry = segment[case_of_entry]
    keys = seg_of_entry * n_items + items
    dense = segments * n_items <= DENSE_PAIRS
    if dense:
        pair_keys: IntArray = np.arange(segments * n_items)
        pair = keys
    else:
        pair_keys, pair = np.unique(keys, return_inverse=True)
    pairs = len(pair_keys)
    full = np.bincount(pair, minlength=pairs)
    longest = int(lengths.max(initial=0))
    top = {
        k: full if longest <= k else np.bincount(pair[position < k], minlength=pairs)
        for k in set(ks)
    }
    # first appearance of each (segment, item): its first entry, in entry order
    first_entries = np.flatnonzero(first_of(pair, pairs)[pair] == np.arange(entries))
    by_segment = stable_order(seg_of_entry[first_entries], segments)
    ordered = pair[first_entries[by_segment]]  # pairs: segment-major, first-appearance order
    ordered_keys = ordered if dense else pair_keys[ordered]
    ordered_segment = ordered_keys // n_items
    bounds = np.searchsorted(ordered_segment, np.arange(segments + 1))
    # relevant items outside every list of their segment widen its universe
    rel_keys = np.unique(segment[cases.relevant_cases] * n_items + cases.relevant_items)
    if pairs:
        at = np.minimum(np.searchsorted(pair_keys, rel_keys), pairs - 1)
        outside = rel_keys[(pair_keys[at] != rel_keys) | (full[at] == 0)]
    else:
        outside = rel_keys
    extra = np.bincount(outside // n_items, minlength=segments)
    entries_of = np.bincount(seg_of_entry, minlength=segments)
    per_segment = [
        Distribution(
            full=full[ordered[lo:hi]],
            top={k: counts[ordered[lo:hi]] for k, counts in top.items()},
            full_entries=int(entries_of[s]),
            universe=hi - lo + int(extra[s]),
        )
        for s, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    ]
    return per_segment, _overall(ordered_keys % n_items, n_items, items, position, cases, ks)


def _overall(
    sequence: IntArray,
    n_items: int,
    items: IntArray,
    position: IntArray,
    cases: CaseColumns,
    ks: Sequence[int],
) -> Distribution:
    """All cases: segment tallies merged in segment order (first sight wins the position).

    ``sequence``: the items of the segments' tallies, segment after segment."""
    first = first_of(sequence, n_items)
    order = sequence[np.sort(first[first < len(sequence)])]
    full = np.bincount(items, minlength=n_items)
    longest = int(cases.lengths.max(initial=0))
    top = {
        k: full if longest <= k else np.bincount(items[position < k], minlength=n_items)
        for k in set(ks)
    }
    relevant = np.unique(cases.relevant_items)
    return Distribution(
        full=full[order],
        top={k: counts[order] for k, counts in top.items()},
        full_entries=len(items),
        universe=len(order) + int(np.count_nonzero(full[relevant] == 0)),
    )


def first_of(values: IntArray, size: int) -> IntArray:
    """Per value in ``range(size)`` the index of its first occurrence in ``values``
    (``len(values)`` when it never occurs)."""
    first = np.full(size, len(values), dtype=np.int64)
    np.minimum.at(first, values, np.arange(len(values)))
    return first


def stable_order(labels: IntArray, distinct: int) -> IntArray:
    """``argsort(labels, kind="stable")``; a radix sort when the labels fit 16 bits."""
    if distinct <= 1 << 16:
        order: IntArray = np.argsort(labels.astype(np.uint16), kind="stable")
        return order
    return np.argsort(labels, kind="stable")
