"""Live-join tallies: additive counters, so partitions (and retractions) simply sum.

A tally is a flat map from a key tuple to a number, plus event-time bounds:

    ("n", tenant, surface, field)                 namespace counters
    ("nl", tenant, surface, latency_ms)           namespace latency histogram (exact)
    ("v", tenant, exp, scope, key, variant, field)  variant counters; scope "all" (key ""),
                                                  "seg" (offline segment key), "surf" (surface)
    ("vl", tenant, exp, variant, latency_ms)      variant latency histogram (guardrail p95)
    ("a", tenant, exp, field)                     assignments / assigned exposures
    ("s", tenant, exp, srm_segment, variant)      SRM: assignment records ("" = global)
    lo/hi[("v", tenant, exp, scope, key, variant)]  min/max exposure time (throughput_rps)

Namespace fields: ``exp`` raw exposures (duplicates included), ``req`` kept exposures,
``jreq`` kept exposures with ≥1 joined outcome, ``out`` outcomes, ``jout`` joined
outcomes, ``orph``, ``dup``, ``empty``, ``err`` (over kept exposures). Variant fields:
``exp``, ``clk``, ``cnv``, ``rev`` (exact ``Fraction``), ``clkreq``/``cnvreq``
(requests with ≥1 click / conversion), ``err``, ``empty``.

The tally of a partition is the sum of ``contribution(state)`` over its requests (plus
what was retired), so an event changes it by contribution(new) − contribution(old).
Latency histograms are exact (one entry per distinct latency value), so p95 is the
offline lower nearest rank, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from streams.live.config import LiveConfig
from streams.live.request import ORPHAN_NAMESPACE, RequestState

Key = tuple[Any, ...]
Number = int | Fraction


@dataclass
class Contribution:
    counts: dict[Key, Number] = field(default_factory=dict)
    times: dict[Key, int] = field(default_factory=dict)

    def add(self, key: Key, n: Number) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n


EMPTY = RequestState()


def contribution(state: RequestState, config: LiveConfig) -> Contribution:
    """What one request adds to its partition's tally (written out flat: it runs twice
    per event)."""
    c = Contribution()
    if state.last_ms == 0 and state == EMPTY:  # only a state of no event (or of 1970) has 0
        return c
    counts = c.counts

    def add(key: Key, n: Number) -> None:
        if n:
            counts[key] = counts.get(key, 0) + n

    shown = state.shown
    for tenant, surface, n in state.duplicates:
        add(("n", tenant, surface, "exp"), n)
        add(("n", tenant, surface, "dup"), n)
    unknown = len(state.pending) + (state.orphans if shown is None else 0)
    if unknown:
        add(("n", *ORPHAN_NAMESPACE, "out"), unknown)
        add(("n", *ORPHAN_NAMESPACE, "orph"), state.orphans if shown is None else 0)
    for exp, variant, tenant, seg, n in state.srm:
        add(("s", tenant, exp, "", variant), n)
        if config.srm_slice_keys:
            add(("s", tenant, exp, seg, variant), n)
    for exp, _, tenant in state.assignments:
        add(("a", shown.tenant if shown else tenant, exp, "asg"), 1)
        if shown is not None:
            add(("a", shown.tenant, exp, "asgexp"), 1)
    if shown is None:
        return c
    t, s = shown.tenant, shown.surface
    joined = state.joined
    empty = 0 if shown.items else 1
    for name, n in (
        ("exp", 1),
        ("req", 1),
        ("jreq", 1 if joined else 0),
        ("out", joined + state.orphans),
        ("jout", joined),
        ("orph", state.orphans),
        ("empty", empty),
        ("err", int(shown.error)),
    ):
        add(("n", t, s, name), n)
    if shown.latency_ms is not None:
        add(("nl", t, s, shown.latency_ms), 1)
    variants = state.variants(config)
    if not variants:
        return c
    scopes = [("all", ""), ("surf", s)]
    if config.slice_keys:
        scopes.append(("seg", shown.segment))
    for exp, variant, _ in variants:
        for scope, key in scopes:
            base = ("v", t, exp, scope, key, variant)
            add((*base, "exp"), 1)
            add((*base, "clk"), state.clicks)
            add((*base, "cnv"), state.conversions)
            add((*base, "rev"), state.revenue)
            add((*base, "clkreq"), 1 if state.clicks else 0)
            add((*base, "cnvreq"), 1 if state.conversions else 0)
            c.times[base] = shown.t_ms
        base = ("v", t, exp, "all", "", variant)
        add((*base, "err"), int(shown.error))
        add((*base, "empty"), empty)
        if shown.latency_ms is not None:
            add(("vl", t, exp, variant, shown.latency_ms), 1)
    return c


@dataclass
class Tally:
    """A partition's counters; ``add`` folds a contribution in (sign −1 retracts it)."""

    counts: dict[Key, Number] = field(default_factory=dict)
    lo: dict[Key, int] = field(default_factory=dict)
    hi: dict[Key, int] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int = 1) -> bool:
        """Fold ``c`` in; False when a retracted time bound needs a rebuild to be exact."""
        counts = self.counts
        for key, n in c.counts.items():
            total = counts.get(key, 0) + sign * n
            if total:
                counts[key] = total
            else:
                del counts[key]
        exact = True
        for key, t in c.times.items():
            if sign > 0:
                self.lo[key] = min(self.lo.get(key, t), t)
                self.hi[key] = max(self.hi.get(key, t), t)
            elif (*key, "exp") not in counts:
                self.lo.pop(key, None)
                self.hi.pop(key, None)
            elif self.lo.get(key) == t or self.hi.get(key) == t:
                exact = False
        return exact

    def change(self, old: Contribution, new: Contribution) -> bool:
        """Replace ``old`` by ``new``; False when a retracted time bound needs a rebuild."""
        counts = self.counts
        before, after = old.counts, new.counts
        for key, n in after.items():
            d = n - before.get(key, 0)
            if d:
                total = counts.get(key, 0) + d
                if total:
                    counts[key] = total
                else:
                    del counts[key]
        for key, n in before.items():
            if key not in after:
                total = counts.get(key, 0) - n
                if total:
                    counts[key] = total
                else:
                    del counts[key]
        exact = True
        for key, t in old.times.items():
            if new.times.get(key) == t:
                continue
            if (*key, "exp") not in counts:
                self.lo.pop(key, None)
                self.hi.pop(key, None)
            elif self.lo.get(key) == t or self.hi.get(key) == t:
                exact = False
        for key, t in new.times.items():
            if old.times.get(key) != t:
                self.lo[key] = min(self.lo.get(key, t), t)
                self.hi[key] = max(self.hi.get(key, t), t)
        return exact

    def merge(self, other: Tally) -> None:
        """Add another partition's tally (time bounds take min/max)."""
        for key, n in other.counts.items():
            total = self.counts.get(key, 0) + n
            if total:
                self.counts[key] = total
            else:
                self.counts.pop(key, None)
        for key, t in other.lo.items():
            self.lo[key] = min(self.lo.get(key, t), t)
        for key, t in other.hi.items():
            self.hi[key] = max(self.hi.get(key, t), t)

    def to_json(self) -> dict[str, Any]:
        """``{"counts": [[*key, n]], "lo": [[*key, t]], "hi": [...]}``; a Fraction n is
        written as the string ``"num/den"`` (integers as integers)."""
        return {
            "counts": [[*k, _num_json(n)] for k, n in sorted(self.counts.items(), key=_order)],
            "lo": [[*k, t] for k, t in sorted(self.lo.items(), key=_order)],
            "hi": [[*k, t] for k, t in sorted(self.hi.items(), key=_order)],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Tally:
        return cls(
            {tuple(e[:-1]): _num(e[-1]) for e in raw.get("counts", ())},
            {tuple(e[:-1]): int(e[-1]) for e in raw.get("lo", ())},
            {tuple(e[:-1]): int(e[-1]) for e in raw.get("hi", ())},
        )


def _order(item: tuple[Key, Any]) -> tuple[str, ...]:
    return tuple(str(p) for p in item[0])


def _num_json(n: Number) -> int | str:
    if isinstance(n, Fraction):
        return n.numerator if n.denominator == 1 else f"{n.numerator}/{n.denominator}"
    return n


def _num(raw: int | str) -> Number:
    if isinstance(raw, str):
        value = Fraction(raw)
        return value.numerator if value.denominator == 1 else value
    return raw
