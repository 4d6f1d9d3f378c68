"""Offline ranking evaluation over joined cases (spec §3.4): pure, one pass.

Cases are folded into per-segment tallies: per-case metrics are summed and averaged
over **all** cases (empty lists and cases without relevant items score 0); the
dataset-level metrics (coverage, novelty, diversity) read a DistributionTally of
the same segment. Segment keys are the sorted ``key=value`` pairs of the slice keys
joined with ``|``, or ``__all__`` without slice keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from eval.join import Case
from eval.metrics.batch import BATCH, HitMatrix
from eval.metrics.distribution import DistributionTally
from eval.metrics.registry import CaseMetric, DatasetMetric, MetricSpec
from eval.records import Exposure, Outcome
from eval.stats.bootstrap import ConfidenceInterval, bootstrap_mean_ci

ALL_SEGMENT = "__all__"
RELEVANT_EVENTS = frozenset({"click", "conversion"})


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A metric's value under its report name (``name@k``), with an optional bootstrap CI."""

    name: str
    value: float
    ci: ConfidenceInterval | None = None


@dataclass(frozen=True)
class OfflineResult:
    """Global and per-segment metric values, plus per-case values kept for bootstrap."""

    cases: int
    metrics: tuple[MetricValue, ...]
    by_segment: Mapping[str, tuple[MetricValue, ...]]
    case_values: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)


def segment_key(context: Mapping[str, str], slice_keys: Sequence[str]) -> str:
    """Sorted ``key=value`` pairs joined by ``|``; ``__all__`` without slice keys."""
    if not slice_keys:
        return ALL_SEGMENT
    return "|".join(f"{key}={context.get(key, '')}" for key in sorted(slice_keys))


def _segment_name(ordered_keys: Sequence[str], values: Sequence[str]) -> str:
    if not ordered_keys:
        return ALL_SEGMENT
    return "|".join(f"{key}={value}" for key, value in zip(ordered_keys, values, strict=True))


def recommended_items(exposure: Exposure) -> tuple[str, ...]:
    """Item ids stably sorted by rank (logs are usually in rank order already)."""
    ranks = exposure.ranks
    if list(ranks) == sorted(ranks):
        return exposure.item_ids
    order = sorted(range(len(ranks)), key=ranks.__getitem__)
    return tuple(exposure.item_ids[i] for i in order)


def relevant_items(outcomes: Iterable[Outcome]) -> frozenset[str]:
    """The set of item ids with a click or conversion (binary relevance, value ignored)."""
    return frozenset(o.item_id for o in outcomes if o.kind in RELEVANT_EVENTS)


class _Tally:
    def __init__(self, index: int, dist: DistributionTally | None) -> None:
        self.index = index
        self.cases = 0
        self.dist = dist


def evaluate_offline(
    cases: Iterable[Case],
    specs: Sequence[MetricSpec],
    slice_keys: Sequence[str],
    *,
    dataset_level: bool = True,
    keep_case_values: bool = False,
) -> OfflineResult:
    """Compute every configured metric globally and per segment in one pass.

    The pass records which top positions of each list are relevant (a HitMatrix);
    the per-case metrics are then computed for all cases at once by their
    bit-identical batch twins and averaged in case order. ``dataset_level=False``
    (stream mode) leaves out coverage, novelty and diversity; ``keep_case_values``
    keeps the per-case values of the global metrics for bootstrap.
    """
    dataset_ks = [s.k for s in specs if isinstance(s.definition, DatasetMetric)]
    needs_dist = dataset_level and bool(dataset_ks)
    width = max([s.k for s in specs if isinstance(s.definition, CaseMetric)], default=0)
    segments: dict[tuple[str, ...], _Tally] = {}  # by slice values; named at the end
    ordered_keys = sorted(slice_keys)
    flags = bytearray()
    lengths: list[int] = []
    relevant_counts: list[int] = []
    segment_of_case: list[int] = []
    for case in cases:
        recommended = recommended_items(case.exposure)
        relevant = relevant_items(case.outcomes)
        context = case.exposure.context
        slice_values = tuple([context.get(key, "") for key in ordered_keys])
        segment = segments.get(slice_values)
        if segment is None:
            dist = DistributionTally(dataset_ks) if needs_dist else None
            segment = segments[slice_values] = _Tally(len(segments), dist)
        segment.cases += 1
        if segment.dist is not None:
            # Only the segment's tally is fed; the global one is their exact (integer) sum.
            segment.dist.add(recommended, relevant)
        if width:
            flags += bytes([item in relevant for item in recommended[:width]])
        lengths.append(len(recommended))
        relevant_counts.append(len(relevant))
        segment_of_case.append(segment.index)
    matrix = HitMatrix.from_tops(flags, lengths, relevant_counts, width)
    owners = np.asarray(segment_of_case, dtype=np.int64)
    per_case = {
        index: BATCH[spec.name](matrix, spec.k)
        for index, spec in enumerate(specs)
        if isinstance(spec.definition, CaseMetric)
    }
    total_dist = DistributionTally(dataset_ks) if needs_dist else None
    if total_dist is not None:
        for segment in segments.values():
            if segment.dist is not None:
                total_dist.merge(segment.dist)
    n = len(lengths)
    global_sums = {i: float(np.cumsum(v)[-1]) if n else 0.0 for i, v in per_case.items()}
    # bincount adds the weights in case order, as a per-segment running sum would
    segment_sums = {
        i: np.bincount(owners, weights=v, minlength=len(segments)) for i, v in per_case.items()
    }
    by_segment = {}
    for key, tally in segments.items():
        sums = {i: float(s[tally.index]) for i, s in segment_sums.items()}
        by_segment[_segment_name(ordered_keys, key)] = _finish(specs, tally.cases, sums, tally.dist)
    return OfflineResult(
        cases=n,
        metrics=_finish(specs, n, global_sums, total_dist),
        by_segment=dict(sorted(by_segment.items())),
        case_values=({specs[i].label: v for i, v in per_case.items()} if keep_case_values else {}),
    )


def _finish(
    specs: Sequence[MetricSpec],
    cases: int,
    sums: Mapping[int, float],
    dist: DistributionTally | None,
) -> tuple[MetricValue, ...]:
    out = []
    for index, spec in enumerate(specs):
        definition = spec.definition
        if isinstance(definition, CaseMetric):
            value = sums[index] / cases if cases else 0.0
        elif dist is not None:
            value = definition.fn(dist, spec.k)
        else:
            continue
        out.append(MetricValue(spec.label, value))
    return tuple(out)


def with_bootstrap(
    result: OfflineResult,
    specs: Sequence[MetricSpec],
    *,
    iterations: int,
    level: float,
    rng_for_metric: Mapping[int, np.random.Generator],
) -> OfflineResult:
    """Attach percentile-bootstrap CIs to the per-case metrics.

    ``rng_for_metric[i]`` is the generator of the i-th configured metric; the original
    seeds it with ``seed + i``.
    """
    by_label = {spec.label: index for index, spec in enumerate(specs)}
    metrics = []
    for metric in result.metrics:
        index = by_label[metric.name]
        values = result.case_values.get(metric.name)
        if values is None or index not in rng_for_metric:
            metrics.append(metric)
            continue
        ci = bootstrap_mean_ci(
            values, iterations=iterations, level=level, rng=rng_for_metric[index]
        )
        metrics.append(replace(metric, ci=ci))
    return replace(result, metrics=tuple(metrics))
