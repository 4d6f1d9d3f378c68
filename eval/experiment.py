"""A/B experiment analysis over assigned cases (spec §3.5): counts, guardrails, tests.

Per variant the original counts outcome *events*: ``ctr`` = clicks / exposures and
``conversion_rate`` = conversions / exposures can exceed 1 (quirk §9.4, kept), and
the z-tests use those counts. ``clicked_requests`` feeds our per-request CTR
(``eval.stats.delta``), reported beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from eval.join import Case, ratio
from eval.offline import segment_key
from eval.records import Assignment
from eval.stats.correction import correct
from eval.stats.ztest import pooled_two_proportion

TESTED_METRICS = ("ctr", "conversion_rate")


@dataclass(frozen=True, slots=True)
class VariantStats:
    """Counts and rates of one variant (globally or within a segment)."""

    variant: str
    exposures: int
    clicks: int
    conversions: int
    revenue: float
    throughput_rps: float
    clicked_requests: int
    converted_requests: int

    @property
    def ctr(self) -> float:
        """Click events per exposure (can exceed 1)."""
        return ratio(self.clicks, self.exposures)

    @property
    def conversion_rate(self) -> float:
        """Conversion events per exposure (can exceed 1)."""
        return ratio(self.conversions, self.exposures)

    @property
    def revenue_per_request(self) -> float:
        """Σ value of conversions / exposures ("revenue per exposure" in the docs)."""
        return ratio(self.revenue, self.exposures)

    def rate(self, metric: str) -> float:
        """A primary metric by name; names the original does not know read as 0."""
        return {
            "ctr": self.ctr,
            "conversion_rate": self.conversion_rate,
            "revenue_per_request": self.revenue_per_request,
        }.get(metric, 0.0)

    def successes(self, metric: str) -> int:
        """The event count a z-test of ``metric`` uses."""
        return self.clicks if metric == "ctr" else self.conversions


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """Latency p95, error and empty rates of a variant, with pass flags (0 = disabled)."""

    variant: str
    latency_p95_ms: float
    error_rate: float
    empty_rate: float
    pass_latency: bool
    pass_error_rate: bool
    pass_empty_rate: bool

    @property
    def passed(self) -> bool:
        """True iff every guardrail passes."""
        return self.pass_latency and self.pass_error_rate and self.pass_empty_rate


@dataclass(frozen=True, slots=True)
class SignificanceTest:
    """One pooled z-test of a non-control variant against the control."""

    metric: str
    variant: str
    segment: str | None
    p_value: float
    adjusted_p_value: float
    significant: bool
    primary: bool
    correction: str


def assignments_by_request(
    assignments: Iterable[Assignment], experiment_id: str
) -> tuple[dict[str, Assignment], int, int]:
    """Filter and key assignments by request_id (a later record overwrites).

    Returns (by request, total records, missing records). With an experiment_id the
    match is case-insensitive; records with an empty request_id or variant are
    missing and dropped.
    """
    wanted = experiment_id.lower()
    by_request: dict[str, Assignment] = {}
    total = missing = 0
    for assignment in assignments:
        total += 1
        if not assignment.request_id or not assignment.variant:
            missing += 1
            continue
        if wanted and assignment.experiment_id.lower() != wanted:
            continue
        by_request[assignment.request_id] = assignment
    return by_request, total, missing


class _VariantTally:
    def __init__(self) -> None:
        self.exposures = self.clicks = self.conversions = 0
        self.clicked = self.converted = 0
        self.revenue = 0.0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, case: Case) -> None:
        self.exposures += 1
        clicks = conversions = 0
        for outcome in case.outcomes:
            kind = outcome.kind
            if kind == "click":
                clicks += 1
            elif kind == "conversion":
                conversions += 1
                self.revenue += outcome.value
        self.clicks += clicks
        self.conversions += conversions
        self.clicked += clicks > 0
        self.converted += conversions > 0
        ts = case.exposure.ts
        if ts is not None:
            self.first = ts if self.first is None or ts < self.first else self.first
            self.last = ts if self.last is None or ts > self.last else self.last

    def result(self, variant: str) -> VariantStats:
        span = (self.last - self.first).total_seconds() if self.first and self.last else 0.0
        return VariantStats(
            variant=variant,
            exposures=self.exposures,
            clicks=self.clicks,
            conversions=self.conversions,
            revenue=self.revenue,
            throughput_rps=self.exposures / span if span > 0 else 0.0,
            clicked_requests=self.clicked,
            converted_requests=self.converted,
        )


def variant_stats(cases: Iterable[tuple[str, Case]]) -> tuple[VariantStats, ...]:
    """Per-variant counts and rates, sorted by variant name."""
    tallies: dict[str, _VariantTally] = {}
    for variant, case in cases:
        tallies.setdefault(variant, _VariantTally()).add(case)
    return tuple(tallies[v].result(v) for v in sorted(tallies))


def segment_stats(
    cases: Sequence[tuple[str, Case]], slice_keys: Sequence[str]
) -> dict[str, tuple[VariantStats, ...]]:
    """Per-segment variant stats, keyed by segment key (sorted); empty without slice keys."""
    if not slice_keys:
        return {}
    grouped: dict[str, list[tuple[str, Case]]] = {}
    for variant, case in cases:
        grouped.setdefault(segment_key(case.exposure.context, slice_keys), []).append(
            (variant, case)
        )
    return {key: variant_stats(grouped[key]) for key in sorted(grouped)}


def guardrails(
    cases: Iterable[tuple[str, Case]],
    *,
    max_latency_p95_ms: float,
    max_error_rate: float,
    max_empty_rate: float,
) -> tuple[GuardrailResult, ...]:
    """Guardrails per variant; p95 = sorted latencies[int((n−1)·0.95)] (lower nearest rank).

    Exposures without ``latency_ms`` do not enter the p95; a threshold of 0 disables
    its check (it always passes).
    """
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    empties: dict[str, int] = {}
    counts: dict[str, int] = {}
    for variant, case in cases:
        counts[variant] = counts.get(variant, 0) + 1
        lat = latencies.setdefault(variant, [])
        if case.exposure.latency_ms is not None:
            lat.append(case.exposure.latency_ms)
        errors[variant] = errors.get(variant, 0) + case.exposure.error
        empties[variant] = empties.get(variant, 0) + (not case.exposure.item_ids)
    results = []
    for variant in sorted(counts):
        lat = sorted(latencies[variant])
        p95 = lat[int((len(lat) - 1) * 0.95)] if lat else 0.0
        error_rate = errors[variant] / counts[variant]
        empty_rate = empties[variant] / counts[variant]
        results.append(
            GuardrailResult(
                variant=variant,
                latency_p95_ms=p95,
                error_rate=error_rate,
                empty_rate=empty_rate,
                pass_latency=max_latency_p95_ms <= 0 or p95 <= max_latency_p95_ms,
                pass_error_rate=max_error_rate <= 0 or error_rate <= max_error_rate,
                pass_empty_rate=max_empty_rate <= 0 or empty_rate <= max_empty_rate,
            )
        )
    return tuple(results)


def choose_control(stats: Sequence[VariantStats], configured: str) -> str:
    """The configured control if present, else the variant with most exposures (first by name)."""
    names = [s.variant for s in stats]
    if configured in names:
        return configured
    if not stats:
        return configured
    # stats are sorted by name and max() keeps the first maximum: ties go to the first name.
    return max(stats, key=lambda s: s.exposures).variant


def significance(
    overall: Sequence[VariantStats],
    by_segment: Mapping[str, Sequence[VariantStats]],
    *,
    control: str,
    primary_metrics: Sequence[str],
    method: str,
    alpha: float,
) -> tuple[SignificanceTest, ...]:
    """ctr and conversion_rate z-tests of every non-control variant, global then per segment.

    One correction is applied over all the tests together (global and segments).
    """
    raw: list[tuple[str, str, str | None, float]] = []
    for segment, stats in [(None, overall), *by_segment.items()]:
        by_name = {s.variant: s for s in stats}
        base = by_name.get(control)
        for variant_stats_ in stats:
            if variant_stats_.variant == control:
                continue
            for metric in TESTED_METRICS:
                test = pooled_two_proportion(
                    variant_stats_.successes(metric),
                    variant_stats_.exposures,
                    base.successes(metric) if base else 0,
                    base.exposures if base else 0,
                )
                raw.append((metric, variant_stats_.variant, segment, test.p_value))
    adjusted = correct(method, [p for *_, p in raw])
    return tuple(
        SignificanceTest(
            metric=metric,
            variant=variant,
            segment=segment,
            p_value=p,
            adjusted_p_value=adj,
            significant=adj <= alpha,
            primary=metric in primary_metrics,
            correction=method,
        )
        for (metric, variant, segment, p), adj in zip(raw, adjusted, strict=True)
    )
