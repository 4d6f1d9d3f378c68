"""The metric registry: name → definition, and the ``{name, k}`` spec the config holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass

from eval.errors import UnknownMetricError
from eval.metrics import distribution, ranking

CaseFn = Callable[[Sequence[str], Set[str], int], float]
DatasetFn = Callable[[distribution.DistributionTally, int], float]


@dataclass(frozen=True, slots=True)
class CaseMetric:
    """A metric computed per case and averaged over all cases."""

    fn: CaseFn


@dataclass(frozen=True, slots=True)
class DatasetMetric:
    """A metric computed once over all cases of a segment."""

    fn: DatasetFn


METRICS: dict[str, CaseMetric | DatasetMetric] = {
    "precision": CaseMetric(ranking.precision),
    "recall": CaseMetric(ranking.recall),
    "map": CaseMetric(ranking.average_precision),
    "ndcg": CaseMetric(ranking.ndcg),
    "hitrate": CaseMetric(ranking.hitrate),
    "coverage": DatasetMetric(distribution.coverage),
    "novelty": DatasetMetric(distribution.novelty),
    "diversity": DatasetMetric(distribution.diversity),
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One configured metric: registry name (lower case) and cut-off k > 0."""

    name: str
    k: int

    @property
    def label(self) -> str:
        """The report name, ``name@k``."""
        return f"{self.name}@{self.k}"

    @property
    def definition(self) -> CaseMetric | DatasetMetric:
        """The registry entry."""
        return METRICS[self.name]


def resolve(name: str) -> str:
    """The registry key for a case-insensitive name; unknown names list the known ones."""
    key = name.strip().lower()
    if key not in METRICS:
        known = ", ".join(sorted(METRICS))
        raise UnknownMetricError(f"unknown metric {name!r} (known metrics: {known})")
    return key
