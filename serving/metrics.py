"""Prometheus text metrics of the serving app (spec §4.10), no tenant or user labels.

``recsys_recommendation_requests_total{endpoint,outcome,empty}``,
``recsys_recommendation_latency_seconds`` (histogram), ``recsys_recommendation_returned_items``
(histogram, buckets 0 1 5 10 20 50 100 200), ``recsys_recommendation_warnings_total``,
``recsys_backpressure_rejections_total``, ``recsys_rate_limited_total`` and the exposure
sink's ``recsys_events_{dropped,sent,failed}_total`` when the sink counts them.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RETURNED_BUCKETS = (0, 1, 5, 10, 20, 50, 100, 200)


def outcome_of(status: int) -> str:
    """The original's outcome label of an HTTP status."""
    if status < 400:
        return "success"
    if status in (401, 403):
        return "forbidden"
    if status in (429, 503):
        return "overload"
    if status == 422:
        return "validation_failed"
    return "internal_error" if status >= 500 else "invalid_request"


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(self.buckets, value)
        if i < len(self.counts):
            self.counts[i] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{le="{bound:g}"}} {running}')
        out += [f'{name}_bucket{{le="+Inf"}} {self.n}', f"{name}_sum {self.total:g}",
                f"{name}_count {self.n}"]
        return out


@dataclass(slots=True)
class ServingMetrics:
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    returned: Histogram = field(default_factory=lambda: Histogram(RETURNED_BUCKETS))
    warnings: int = 0
    rate_limited: int = 0

    def observe(self, endpoint: str, status: int, seconds: float,
                returned: int | None, warnings: int) -> None:
        empty = "" if returned is None else str(returned == 0).lower()
        self.requests[(endpoint, outcome_of(status), empty)] += 1
        self.latency.observe(seconds)
        if returned is not None:
            self.returned.observe(returned)
        self.warnings += warnings
        if status == 429:
            self.rate_limited += 1

    def render(self, gauges: dict[str, int]) -> str:
        lines = ["# TYPE recsys_recommendation_requests_total counter"]
        for (endpoint, outcome, empty), n in sorted(self.requests.items()):
            lines.append("recsys_recommendation_requests_total"
                         f'{{endpoint="{endpoint}",outcome="{outcome}",empty="{empty}"}} {n}')
        lines.append("# TYPE recsys_recommendation_latency_seconds histogram")
        lines += self.latency.lines("recsys_recommendation_latency_seconds")
        lines.append("# TYPE recsys_recommendation_returned_items histogram")
        lines += self.returned.lines("recsys_recommendation_returned_items")
        counters = {"recsys_recommendation_warnings_total": self.warnings,
                    "recsys_rate_limited_total": self.rate_limited, **gauges}
        for name, value in counters.items():
            lines += [f"# TYPE {name} counter", f"{name} {value}"]
        return "\n".join(lines) + "\n"
