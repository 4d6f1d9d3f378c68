"""A/A check (spec §3.5): are the variant-vs-control p-values roughly uniform?

For each threshold t the number of p-values below t is counted per metric; with n
tests of a metric, ``uniformish`` is false if any count exceeds 2.5·n·t where
n·t ≥ 1. Under the null a p-value is uniform, so about n·t fall below t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eval.experiment import TESTED_METRICS, SignificanceTest


def threshold_key(threshold: float) -> str:
    """The JSON key of a threshold: Go's FormatFloat(t, 'g', -1) (``0.05``, ``0.001``)."""
    return repr(threshold)


@dataclass(frozen=True)
class AAMetric:
    metric: str
    counts: dict[str, int]
    by_segment: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class AACheck:
    metrics: tuple[AAMetric, ...]
    thresholds: tuple[float, ...]
    total_tests: int
    uniformish: bool


def _count(p_values: Sequence[float], thresholds: Sequence[float]) -> dict[str, int]:
    return {threshold_key(t): sum(1 for p in p_values if p < t) for t in thresholds}


def aa_check(tests: Sequence[SignificanceTest], thresholds: Sequence[float]) -> AACheck:
    """Count raw p-values below each threshold per metric (global + segments) and per segment."""
    metrics = []
    uniformish = True
    for metric in TESTED_METRICS:
        mine = [t for t in tests if t.metric == metric]
        p_values = [t.p_value for t in mine]
        segments = sorted({t.segment for t in mine if t.segment is not None})
        by_segment = {
            seg: _count([t.p_value for t in mine if t.segment == seg], thresholds)
            for seg in segments
        }
        counts = _count(p_values, thresholds)
        n = len(p_values)
        for t in thresholds:
            expected = n * t
            if expected >= 1 and counts[threshold_key(t)] > 2.5 * expected:
                uniformish = False
        metrics.append(AAMetric(metric, counts, by_segment))
    return AACheck(tuple(metrics), tuple(thresholds), len(tests), uniformish)
