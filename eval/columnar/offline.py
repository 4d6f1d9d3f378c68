"""Offline metrics over joined case columns: the twin of ``eval.offline.evaluate_offline``.

Same result, bit for bit: the per-case metrics come from the same batch twins
(``eval.metrics.batch``) over a HitMatrix built with array operations, segment sums
use ``bincount`` in case order, and the dataset-level metrics come from
``eval.columnar.distribution``. Segment ids are given in order of each segment's
first case, the order in which the reference creates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from eval.columnar.distribution import DATASET_BATCH, Distribution, distributions, first_of
from eval.columnar.interner import IntArray
from eval.columnar.join import CaseColumns
from eval.metrics.batch import BATCH, HitMatrix, capped_width
from eval.metrics.registry import CaseMetric, MetricSpec
from eval.offline import ALL_SEGMENT, MetricValue, OfflineResult


def segment_ids(slices: IntArray) -> tuple[IntArray, IntArray]:
    """Per case its segment id (numbered by first case), and each segment's first case."""
    cases, width = slices.shape
    if cases == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    combined = np.zeros(cases, dtype=np.int64)
    bound = 1  # combined < bound
    for column in range(width):
        size = int(slices[:, column].max()) + 1
        if bound * size >= 1 << 62:  # re-coded densely: then it stays below the cases
            combined = np.unique(combined, return_inverse=True)[1].reshape(cases)
            bound = int(combined.max()) + 1
        combined = combined * size + slices[:, column]
        bound *= size
    if bound <= max(4 * cases, 1 << 20):  # few enough combinations for a flat table
        first = first_of(combined, bound)
        firsts: IntArray = np.sort(first[first < cases])
        label = np.zeros(bound, dtype=np.int64)
        label[combined[firsts]] = np.arange(len(firsts))
        segment: IntArray = label[combined]
        return segment, firsts
    _, first_case, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first_case)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(cases)], first_case[order]


def hit_matrix(cases: CaseColumns, width: int) -> HitMatrix:
    """Which of the first ``width`` positions of each case hold a relevant item.

    ``width`` is the largest cut-off; the matrix is no wider than the longest list.
    """
    n, lengths, items = cases.cases, cases.lengths, cases.items
    width = capped_width(width, lengths.astype(np.int64))
    relevant = np.bincount(cases.relevant_cases, minlength=n)
    hits = np.zeros((n, width), dtype=np.uint8)
    if width and len(cases.relevant_cases):
        scale = int(max(items.max(initial=0), cases.relevant_items.max())) + 1
        wanted = cases.relevant_cases * scale + cases.relevant_items  # sorted, distinct
        case_of_entry = np.repeat(np.arange(n), lengths)
        position = np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        candidate = (position < width) & (relevant[case_of_entry] > 0)
        keys = case_of_entry[candidate] * scale + items[candidate]
        at = np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)
        found = wanted[at] == keys
        hits[case_of_entry[candidate][found], position[candidate][found]] = 1
    return HitMatrix(hits, lengths.astype(np.int64), relevant.astype(np.int64))


def evaluate_columns(
    cases: CaseColumns,
    specs: Sequence[MetricSpec],
    slice_keys: Sequence[str],
    slice_values: Sequence[Sequence[str]],
    *,
    keep_case_values: bool = False,
) -> OfflineResult:
    """Every configured metric globally and per segment (memory mode, dataset level on).

    ``slice_keys`` are sorted; ``slice_values[j]`` holds the strings of key j's codes.
    """
    n = cases.cases
    segment, firsts = segment_ids(cases.slices)
    width = max([s.k for s in specs if isinstance(s.definition, CaseMetric)], default=0)
    dataset_ks = [s.k for s in specs if not isinstance(s.definition, CaseMetric)]
    seg_dists: list[Distribution | None] = [None] * len(firsts)
    total_dist: Distribution | None = None
    # the distributions on a second thread (NumPy releases the GIL in its loops)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recsys-eval-dist") as pool:
        tallies = (
            pool.submit(distributions, cases, segment, len(firsts), dataset_ks)
            if dataset_ks
            else None
        )
        matrix = hit_matrix(cases, width)
        per_case = {
            index: BATCH[spec.name](matrix, spec.k)
            for index, spec in enumerate(specs)
            if isinstance(spec.definition, CaseMetric)
        }
        if tallies is not None:
            found, total = tallies.result()
            seg_dists, total_dist = list(found), total
    case_counts = np.bincount(segment, minlength=len(firsts))
    # bincount adds the weights in case order, as the reference's running sums
    segment_sums = {
        i: np.bincount(segment, weights=v, minlength=len(firsts)) for i, v in per_case.items()
    }
    by_segment = {}
    for index, first in enumerate(firsts.tolist()):
        sums = {i: float(s[index]) for i, s in segment_sums.items()}
        codes = cases.slices[first].tolist()
        name = _segment_name(slice_keys, [slice_values[j][c] for j, c in enumerate(codes)])
        by_segment[name] = _finish(specs, int(case_counts[index]), sums, seg_dists[index])
    global_sums = {i: float(np.cumsum(v)[-1]) if n else 0.0 for i, v in per_case.items()}
    return OfflineResult(
        cases=n,
        metrics=_finish(specs, n, global_sums, total_dist),
        by_segment=dict(sorted(by_segment.items())),
        case_values=({specs[i].label: v for i, v in per_case.items()} if keep_case_values else {}),
    )


def _segment_name(keys: Sequence[str], values: Sequence[str]) -> str:
    if not keys:
        return ALL_SEGMENT
    return "|".join(f"{key}={value}" for key, value in zip(keys, values, strict=True))


def _finish(
    specs: Sequence[MetricSpec],
    cases: int,
    sums: dict[int, float],
    dist: Distribution | None,
) -> tuple[MetricValue, ...]:
    out = []
    for index, spec in enumerate(specs):
        if isinstance(spec.definition, CaseMetric):
            value = sums[index] / cases if cases else 0.0
        elif dist is not None:
            value = DATASET_BATCH[spec.name](dist, spec.k)
        else:
            continue
        out.append(MetricValue(spec.label, value))
    return tuple(out)
