"""One request's live-join state, and the pure reducers that fold events into it.

Per request_id the state keeps the **first** exposure (``Shown``: what the tallies and
the joined records need of it), the outcomes joined to it (counts and exact revenue),
outcomes still waiting for their exposure (``pending``), orphans, repeated exposures,
and the request's assignments (last record per experiment wins, as offline).

* An outcome joins when the exposure is known and ``outcome.ts ≤ exposure.ts + window``;
  an outcome later than that is an orphan (outside the attribution window).
* An outcome without an exposure waits (``pending``); the exposure releases it
  (joined, or orphan when outside the window); ``expire`` turns what still waits into
  orphans once the grace has passed.
* A repeated exposure is counted as a duplicate in its own namespace and joins nothing.

Every function returns the new state and the outcomes it joined (``Joined``); the
tallies are a pure function of the state (``streams.live.tally.contribution``), so
the order in which a request's events arrive does not matter as long as each
exposure arrives within the grace of its outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from operator import attrgetter
from typing import Any

from eval.offline import segment_key
from schemas.events import Assignment, Exposure, Outcome
from streams.live.config import LiveConfig
from streams.namespace import DEFAULT, surface_of, tenant_of


@dataclass(frozen=True, slots=True)
class Shown:
    """The request's first exposure, as the join keeps it."""

    ts: str
    t_ms: int
    tenant: str
    surface: str
    segment: str
    """Offline segment key of the context for the configured slice keys ("" without)."""
    items: tuple[tuple[str, int], ...]
    latency_ms: float | None
    error: bool
    context: tuple[tuple[str, str], ...]
    """The context keys the joined records carry (segment, experiment, versions)."""

    def ctx(self, key: str) -> str | None:
        for k, v in self.context:
            if k == key:
                return v
        return None

    def rank_of(self, item_id: str) -> int | None:
        for item, rank in self.items:
            if item == item_id:
                return rank
        return None


CARRIED_CONTEXT = (
    "segment",
    "experiment_id",
    "experiment_variant",
    "experiment_preview",
    "algo_version",
    "config_version",
    "rules_version",
)


@dataclass(frozen=True, slots=True)
class Pending:
    """An outcome waiting for its exposure."""

    item_id: str
    event_type: str
    value: float | None
    ts: str
    t_ms: int


@dataclass(frozen=True, slots=True)
class Joined:
    """An outcome joined to its request's first exposure (the joined.v1 record's facts)."""

    request_id: str
    outcome: Pending
    shown: Shown
    experiment: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class RequestState:
    shown: Shown | None = None
    duplicates: tuple[tuple[str, str, int], ...] = ()
    """(tenant, surface, count) of repeated exposures, by their own namespace."""
    clicks: int = 0
    conversions: int = 0
    revenue: Fraction = Fraction(0)
    """Σ value of joined conversions, exact (so any arrival order gives the same sum)."""
    pending: tuple[Pending, ...] = ()
    orphans: int = 0
    assignments: tuple[tuple[str, str, str], ...] = ()
    """(experiment id lower-cased, variant, tenant), one per experiment, latest last."""
    srm: tuple[tuple[str, str, str, str, int], ...] = ()
    """(experiment lower-cased, variant, tenant, SRM segment, records) — not deduped."""
    last_ms: int = 0
    """Newest event time of the request (it is forgotten window + grace after it)."""

    @property
    def joined(self) -> int:
        return self.clicks + self.conversions

    def _context_arm(self, config: LiveConfig) -> Shown | None:
        """The exposure whose context experiment counts: when the fallback is on and the
        variant is not a preview (one the client chose: it has no assignment record, and
        the offline evaluator does not count it either)."""
        s = self.shown
        if (not config.context_variant_fallback or s is None
                or s.ctx("experiment_preview") == "true"):
            return None
        return s

    def variant_of(self, experiment: str, config: LiveConfig) -> str | None:
        for exp, variant, _ in self.assignments:
            if exp == experiment:
                return variant
        if (shown := self._context_arm(config)) is not None:
            ctx_exp = (shown.ctx("experiment_id") or "").lower()
            if ctx_exp == experiment:
                return shown.ctx("experiment_variant") or None
        return None

    def variants(self, config: LiveConfig) -> list[tuple[str, str, bool]]:
        """(experiment, variant, from an assignment) of every experiment of the request."""
        out = [(exp, variant, True) for exp, variant, _ in self.assignments]
        if (shown := self._context_arm(config)) is not None:
            ctx_exp = (shown.ctx("experiment_id") or "").lower()
            ctx_variant = shown.ctx("experiment_variant") or ""
            if ctx_exp and ctx_variant and all(exp != ctx_exp for exp, _, _ in out):
                out.append((ctx_exp, ctx_variant, False))
        return out

    def experiment(self, config: LiveConfig) -> tuple[str, str] | None:
        """The arm a joined record carries: the latest assignment, else the context."""
        found = self.variants(config)
        if not found:
            return None
        assigned = [v for v in found if v[2]]
        exp, variant, _ = assigned[-1] if assigned else found[0]
        return exp, variant

    # -- JSON (table values) -----------------------------------------------------------
    def to_json(self) -> list[Any]:
        s = self.shown
        shown = (
            None
            if s is None
            else [
                s.ts,
                s.t_ms,
                s.tenant,
                s.surface,
                s.segment,
                s.items,  # tuples are JSON arrays to orjson: no copies
                s.latency_ms,
                s.error,
                s.context,
            ]
        )
        return [
            shown,
            self.duplicates,
            self.clicks,
            self.conversions,
            _fraction_json(self.revenue),
            [[p.item_id, p.event_type, p.value, p.ts, p.t_ms] for p in self.pending],
            self.orphans,
            self.assignments,
            self.srm,
            self.last_ms,
        ]

    @classmethod
    def of(cls, raw: RequestState | list[Any] | None) -> RequestState:
        """A table value's state: the object itself, or its JSON (after recovery)."""
        return raw if isinstance(raw, RequestState) else cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: list[Any] | None) -> RequestState:
        if raw is None:
            return cls()
        shown, dups, clicks, conv, rev, pending, orphans, asg, srm, last_ms = raw
        return cls(
            None
            if shown is None
            else Shown(
                shown[0],
                shown[1],
                shown[2],
                shown[3],
                shown[4],
                tuple((i, r) for i, r in shown[5]),
                shown[6],
                shown[7],
                tuple((k, v) for k, v in shown[8]),
            ),
            tuple((t, s, n) for t, s, n in dups),
            clicks,
            conv,
            _fraction(rev),
            tuple(Pending(*p) for p in pending),
            orphans,
            tuple((e, v, t) for e, v, t in asg),
            tuple((e, v, t, g, n) for e, v, t, g, n in srm),
            last_ms,
        )


def _fraction_json(value: Fraction) -> int | str:
    return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _fraction(raw: int | str) -> Fraction:
    return Fraction(raw)


# -- reducers ---------------------------------------------------------------------------


_ITEM_AND_RANK = attrgetter("item_id", "rank")


def shown_of(e: Exposure, config: LiveConfig, t_ms: int) -> Shown:
    ctx = e.context or {}
    return Shown(
        ts=e.ts,
        t_ms=t_ms,
        tenant=tenant_of(ctx),
        surface=surface_of(ctx),
        segment=segment_key(ctx, config.slice_keys) if config.slice_keys else "",
        items=tuple(map(_ITEM_AND_RANK, e.items)),
        latency_ms=e.latency_ms,
        error=bool(e.error),
        context=tuple((k, ctx[k]) for k in CARRIED_CONTEXT if k in ctx),
    )


def _pending_of(o: Outcome, t_ms: int) -> Pending:
    return Pending(o.item_id, o.event_type.lower(), o.value, o.ts, t_ms)


def _attribute(
    state: RequestState, outcomes: tuple[Pending, ...], request_id: str, config: LiveConfig
) -> tuple[RequestState, list[Joined]]:
    """Join outcomes to the known exposure (orphans when outside the window)."""
    shown = state.shown
    assert shown is not None  # noqa: S101 — callers check; not input validation
    clicks, conversions, revenue, orphans = (
        state.clicks,
        state.conversions,
        state.revenue,
        state.orphans,
    )
    joined: list[Joined] = []
    arm = state.experiment(config)
    for p in outcomes:
        if p.t_ms > shown.t_ms + config.attribution_window_ms:
            orphans += 1
            continue
        if p.event_type == "click":
            clicks += 1
        else:
            conversions += 1
            revenue += Fraction(p.value or 0.0)
        joined.append(Joined(request_id, p, shown, arm))
    return (
        replace(state, clicks=clicks, conversions=conversions, revenue=revenue, orphans=orphans),
        joined,
    )


def on_exposure(
    state: RequestState, e: Exposure, config: LiveConfig, t_ms: int
) -> tuple[RequestState, list[Joined]]:
    """``t_ms`` is ``e.timestamp_ms`` (parsed once by the caller)."""
    last_ms = max(state.last_ms, t_ms)
    if state.shown is not None:
        tenant, surface = tenant_of(e.context), surface_of(e.context)
        counts = {(t, s): n for t, s, n in state.duplicates}
        counts[(tenant, surface)] = counts.get((tenant, surface), 0) + 1
        dups = tuple((t, s, n) for (t, s), n in sorted(counts.items()))
        return replace(state, duplicates=dups, last_ms=last_ms), []
    waiting = state.pending
    # Built directly rather than with ``replace`` (the hot path: one call per exposure).
    state = RequestState(
        shown_of(e, config, t_ms),
        state.duplicates,
        state.clicks,
        state.conversions,
        state.revenue,
        (),
        state.orphans,
        state.assignments,
        state.srm,
        last_ms,
    )
    if not waiting:
        return state, []
    return _attribute(state, waiting, e.request_id, config)


def on_outcome(
    state: RequestState, o: Outcome, config: LiveConfig, t_ms: int
) -> tuple[RequestState, list[Joined]]:
    """``t_ms`` is ``o.timestamp_ms`` (parsed once by the caller)."""
    last_ms = max(state.last_ms, t_ms)
    pending = _pending_of(o, t_ms)
    if state.shown is None:
        return replace(state, pending=(*state.pending, pending), last_ms=last_ms), []
    return _attribute(replace(state, last_ms=last_ms), (pending,), o.request_id, config)


def on_assignment(
    state: RequestState, a: Assignment, config: LiveConfig, t_ms: int
) -> RequestState:
    """The latest record per experiment sets the variant; every record counts for SRM.
    ``t_ms`` is ``a.timestamp_ms``."""
    exp = a.experiment_id.lower()
    tenant = tenant_of(a.context)
    seg = segment_key(a.context or {}, config.srm_slice_keys) if config.srm_slice_keys else ""
    assignments = (*(x for x in state.assignments if x[0] != exp), (exp, a.variant, tenant))
    srm = {(e, v, t, g): n for e, v, t, g, n in state.srm}
    srm[(exp, a.variant, tenant, seg)] = srm.get((exp, a.variant, tenant, seg), 0) + 1
    return replace(
        state,
        assignments=assignments,
        srm=tuple((*k, n) for k, n in sorted(srm.items())),
        last_ms=max(state.last_ms, t_ms),
    )


def expire(state: RequestState) -> RequestState:
    """The grace ran out: outcomes still waiting for their exposure become orphans."""
    if not state.pending:
        return state
    return replace(state, pending=(), orphans=state.orphans + len(state.pending))


def oldest_pending_ms(state: RequestState) -> int | None:
    return min((p.t_ms for p in state.pending), default=None)


ORPHAN_NAMESPACE = (DEFAULT, DEFAULT)
"""Where outcomes whose exposure is unknown are counted (as in docs/streams.md)."""
