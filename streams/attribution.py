"""Which namespace an outcome counts under: the request stage, as a pure reducer.

Exposures and outcomes share the key (request_id) and the partition count, so both
reach the same partition — but through two topics, in no guaranteed order. Per
request_id the state keeps the first exposure's (tenant, surface) and parks outcomes
that arrive before it. An outcome becomes an ``Attributed`` engagement

* at once, when its exposure is known;
* when its exposure arrives (within the grace period);
* with namespace (``default``, ``default``) when the grace period runs out
  (``expire``) without an exposure.

A repeated exposure for a request_id changes nothing (first exposure wins, as the
offline join). So for any arrival order in which every exposure comes within the
grace period of its outcomes, the engagements equal those of the batch twin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import Exposure, Outcome
from streams.namespace import DEFAULT, surface_of, tenant_of


@dataclass(frozen=True, slots=True)
class Attributed:
    """An outcome with the namespace it counts under."""

    tenant: str
    surface: str
    user_id: str
    item_id: str
    event_type: str
    t_ms: int
    exposure_known: bool


@dataclass(frozen=True)
class RequestState:
    tenant: str | None = None
    surface: str | None = None
    exposure_ms: int | None = None
    pending: tuple[Outcome, ...] = ()

    @property
    def has_exposure(self) -> bool:
        return self.tenant is not None

    def to_json(self) -> list[object]:
        return [self.tenant, self.surface, self.exposure_ms, [o.to_json() for o in self.pending]]

    @classmethod
    def from_json(cls, raw: RequestState | list[object] | None) -> RequestState:
        """The state of a requests-table value: the state itself (as the request stage
        keeps it in its store) or its JSON (as recovered from the changelog)."""
        if isinstance(raw, RequestState):
            return raw
        if raw is None:
            return cls()
        tenant, surface, ts, pending = raw
        return cls(
            tenant if isinstance(tenant, str) else None,
            surface if isinstance(surface, str) else None,
            ts if isinstance(ts, int) else None,
            # our own state, written from checked events: not validated again (the JSON
            # Schema check was the request stage's largest cost per event)
            tuple(Outcome._from_valid_json(o) for o in pending),  # type: ignore[attr-defined]
        )


def _attributed(o: Outcome, tenant: str, surface: str, known: bool) -> Attributed:
    return Attributed(
        tenant, surface, o.user_id, o.item_id, o.event_type.lower(), o.timestamp_ms, known
    )


def on_exposure(state: RequestState, exposure: Exposure) -> tuple[RequestState, list[Attributed]]:
    if state.has_exposure:
        return state, []
    tenant, surface = tenant_of(exposure.context), surface_of(exposure.context)
    released = [_attributed(o, tenant, surface, True) for o in state.pending]
    return RequestState(tenant, surface, exposure.timestamp_ms, ()), released


def on_outcome(state: RequestState, outcome: Outcome) -> tuple[RequestState, list[Attributed]]:
    if state.tenant is not None and state.surface is not None:
        return state, [_attributed(outcome, state.tenant, state.surface, True)]
    return RequestState(pending=(*state.pending, outcome)), []


def expire(state: RequestState) -> tuple[RequestState, list[Attributed]]:
    """Release parked outcomes whose grace ran out, under the default namespace."""
    released = [_attributed(o, DEFAULT, DEFAULT, False) for o in state.pending]
    return RequestState(state.tenant, state.surface, state.exposure_ms, ()), released


def batch_attribution(
    exposures: Iterable[Exposure], outcomes: Iterable[Outcome]
) -> list[Attributed]:
    """Batch twin: each outcome under its request's first exposure, else the default."""
    first: dict[str, tuple[str, str]] = {}
    for e in exposures:
        first.setdefault(e.request_id, (tenant_of(e.context), surface_of(e.context)))
    out = []
    for o in outcomes:
        ns = first.get(o.request_id)
        out.append(_attributed(o, *(ns or (DEFAULT, DEFAULT)), ns is not None))
    return out
