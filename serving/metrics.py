"""Prometheus text metrics (spec §4.10); request series have no tenant or user labels.

``recsys_recommendation_requests_total{endpoint,outcome,empty}``,
``recsys_recommendation_latency_seconds`` (histogram), ``recsys_recommendation_returned_items``
(histogram, buckets 0 1 5 10 20 50 100 200), ``recsys_recommendation_warnings_total``,
``recsys_backpressure_rejections_total``, ``recsys_rate_limited_total`` and the exposure
sink's ``recsys_events_{dropped,sent,failed}_total`` when the sink counts them.

With a live source, ``live_lines`` adds the live join's series (``recsys_live_*``):
per namespace (labels ``tenant``, ``surface``) exposures, outcomes, orphans, duplicates,
join, empty and error rates and p95 latency; per experiment arm (``experiment``,
``variant``) exposures, clicks, conversions, revenue; SRM per experiment; dead letters,
lag and snapshot time. Labels are only those four: never a user or request id.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from serving.live_source import LiveSource

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


# (document field, metric name, type, scale): per namespace, then per experiment arm
LIVE_NAMESPACE_SERIES = (
    ("exposures", "recsys_live_exposures_total", "counter", 1.0),
    ("outcomes", "recsys_live_outcomes_total", "counter", 1.0),
    ("orphans", "recsys_live_orphans_total", "counter", 1.0),
    ("duplicates", "recsys_live_duplicates_total", "counter", 1.0),
    ("exposure_join_rate", "recsys_live_exposure_join_rate", "gauge", 1.0),
    ("outcome_join_rate", "recsys_live_outcome_join_rate", "gauge", 1.0),
    ("empty_list_rate", "recsys_live_empty_list_rate", "gauge", 1.0),
    ("error_rate", "recsys_live_error_rate", "gauge", 1.0),
    ("latency_p95_ms", "recsys_live_latency_p95_seconds", "gauge", 0.001),
)
LIVE_VARIANT_SERIES = (
    ("exposures", "recsys_live_variant_exposures_total", "counter", 1.0),
    ("clicks", "recsys_live_variant_clicks_total", "counter", 1.0),
    ("conversions", "recsys_live_variant_conversions_total", "counter", 1.0),
    ("revenue", "recsys_live_variant_revenue_total", "counter", 1.0),
)


def label_value(value: object) -> str:
    """A label value escaped for the text exposition format (backslash, quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: object, scale: float) -> str | None:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) and scale == 1.0:
        return str(value)
    if isinstance(value, int | float):
        return repr(float(value) * scale)
    return None  # missing or null: no sample rather than a made-up zero


def _family(name: str, kind: str, samples: list[tuple[dict[str, object], object]],
            field_scale: float = 1.0) -> list[str]:
    lines = []
    for labels, value in samples:
        text = _number(value, field_scale)
        if text is None:
            continue
        pairs = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{pairs}}} {text}" if pairs else f"{name} {text}")
    return [f"# TYPE {name} {kind}", *lines] if lines else []


def live_lines(overview: Mapping[str, Any],
               experiments: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The ``recsys_live_*`` series of an overview and its experiments' documents."""
    rows = [r for r in overview.get("namespaces") or () if isinstance(r, Mapping)]
    lines: list[str] = []
    for key, name, kind, scale in LIVE_NAMESPACE_SERIES:
        lines += _family(name, kind, [({"tenant": r.get("tenant", ""),
                                        "surface": r.get("surface", "")}, r.get(key))
                                       for r in rows], scale)
    lines += _family("recsys_live_dead_letters_total", "counter",
                     [({}, overview.get("dead_letters"))])
    lines += _family("recsys_live_lag_records", "gauge", [({}, overview.get("lag_records"))])
    lines += _family("recsys_live_as_of_seconds", "gauge", [({}, overview.get("as_of_ms"))],
                     0.001)
    arms = [(eid, v) for eid, doc in sorted(experiments.items())
            for v in doc.get("variants") or () if isinstance(v, Mapping)]
    for key, name, kind, scale in LIVE_VARIANT_SERIES:
        lines += _family(name, kind, [({"experiment": eid, "variant": v.get("variant", "")},
                                       v.get(key)) for eid, v in arms], scale)
    srm = [(eid, doc.get("srm")) for eid, doc in sorted(experiments.items())]
    srm_rows = [(eid, s) for eid, s in srm if isinstance(s, Mapping)]
    lines += _family("recsys_live_srm_alarm", "gauge",
                     [({"experiment": eid}, s.get("alarm")) for eid, s in srm_rows])
    lines += _family("recsys_live_srm_p_value", "gauge",
                     [({"experiment": eid}, s.get("p_value")) for eid, s in srm_rows])
    return lines


def render_live(source: LiveSource) -> str:
    """Every tenant's live series (``/metrics`` is the operator's view)."""
    experiments = {}
    for experiment_id in source.experiment_ids():
        doc = source.experiment(experiment_id)
        if doc is not None:
            experiments[experiment_id] = doc
    lines = live_lines(source.overview(), experiments)
    return "\n".join(lines) + "\n" if lines else ""
