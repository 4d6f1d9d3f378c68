"""The three stages of the stream state, as plain functions over dict-like tables.

The Faust agents (``streams.state_agents``) call these with Faust tables; the tests'
stream simulator calls them with dicts. Nothing here knows about Kafka.

    request stage   (exposures + outcomes, partitioned by request_id)
        → attributes outcomes to their exposure's namespace
        → PopularityMsg per weighted observation, EngagementMsg per outcome
    user stage      (engagements, partitioned by tenant␟user)
        → user history; new co-visitation pairs → two PairMsg (one per direction)
    item stage      (item updates, partitioned by tenant␟surface␟item)
        → decayed popularity per item, pair counts per (anchor, neighbour)

Table values are JSON-able lists, except that the request and user stages keep their
states as objects (``RequestState``, ``UserState``) in the tables they write: those are
turned into JSON once per batch, when the changelog is written
(``streams.state_json``), not at every event; ``from_json`` takes either form. See
``streams.dedupe`` for the two exactness checks.
"""

from __future__ import annotations

import heapq
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from schemas.events import Exposure, Outcome
from streams import attribution, history
from streams.decay import Decayed, add
from streams.dedupe import Origin, Stamp, is_duplicate, is_redelivery
from streams.keys import join_key, split_key
from streams.messages import (
    Derived,
    EngagementMsg,
    PairMsg,
    PopularityMsg,
)
from streams.namespace import surface_of, tenant_of
from streams.state_config import StateConfig

Table = MutableMapping[str, Any]
EXPOSURE_STAGE = "exp"
OUTCOME_STAGE = "out"
TICK_STAGE = "tick"
USER_STAGE = "user"


@dataclass
class Emitter:
    """Collects derived records, stamping each with its origin and position."""

    stage: str
    partition: int
    offset: int
    out: list[Derived] = field(default_factory=list)

    def stamp(self) -> Stamp:
        return Stamp(self.stage, self.partition, self.offset, len(self.out))


# --- request stage -------------------------------------------------------------------


@dataclass
class RequestStage:
    config: StateConfig
    watermark: dict[int, int] = field(default_factory=dict)
    """Per partition, the highest event time seen (for expiring parked outcomes)."""
    parked: dict[int, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """Per partition, request_id → (event time of its oldest parked outcome, wall time
    it was parked). In memory only: rebuilt from the table after recovery."""
    due_heap: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    """Per partition, (event time, request_id) of every ``parked`` entry ever set, oldest
    first: the watermark releases from its top instead of scanning ``parked`` per event.
    Entries no longer matching ``parked`` are skipped when they reach the top."""

    def _park(self, partition: int, request_id: str, oldest: int, wall_ms: int) -> None:
        parked = self.parked.setdefault(partition, {})
        parked[request_id] = (oldest, parked.get(request_id, (0, wall_ms))[1])
        heapq.heappush(self.due_heap.setdefault(partition, []), (oldest, request_id))

    def _emit_attributed(self, em: Emitter, items: list[attribution.Attributed]) -> None:
        pop = self.config.popularity
        for a in items:
            weight = pop.weight(a.event_type)
            if weight:
                em.out.append(
                    PopularityMsg(a.tenant, a.surface, a.item_id, weight, a.t_ms, em.stamp())
                )
            em.out.append(EngagementMsg(a, em.stamp()))

    def on_exposure(self, table: Table, partition: int, offset: int, e: Exposure) -> list[Derived]:
        em = Emitter(EXPOSURE_STAGE, partition, offset)
        raw = table.get(e.request_id)
        value = raw if raw is not None else [None, None, None]
        if is_redelivery(value[1], offset):
            return []
        state = attribution.RequestState.from_json(value[0])
        first = not state.has_exposure
        state, released = attribution.on_exposure(state, e)
        shown = self.config.popularity.weight("shown")
        if first and shown:  # a repeated request_id is not shown twice (first wins)
            t, s = tenant_of(e.context), surface_of(e.context)
            for it in e.items:
                em.out.append(PopularityMsg(t, s, it.item_id, shown, e.timestamp_ms, em.stamp()))
        self._emit_attributed(em, released)
        table[e.request_id] = [state, offset, value[2]]
        self.parked.get(partition, {}).pop(e.request_id, None)
        self._advance(table, partition, e.timestamp_ms, em)
        return em.out

    def on_outcome(
        self, table: Table, partition: int, offset: int, o: Outcome, wall_ms: int = 0
    ) -> list[Derived]:
        em = Emitter(OUTCOME_STAGE, partition, offset)
        raw = table.get(o.request_id)
        value = raw if raw is not None else [None, None, None]
        if is_redelivery(value[2], offset):
            return []
        state = attribution.RequestState.from_json(value[0])
        state, released = attribution.on_outcome(state, o)
        self._emit_attributed(em, released)
        table[o.request_id] = [state, value[1], offset]
        if state.pending:
            oldest = min(p.timestamp_ms for p in state.pending)
            self._park(partition, o.request_id, oldest, wall_ms)
        self._advance(table, partition, o.timestamp_ms, em)
        return em.out

    def _advance(self, table: Table, partition: int, t_ms: int, em: Emitter) -> None:
        """Move the partition's event-time watermark; release what waited past the grace."""
        mark = max(self.watermark.get(partition, t_ms), t_ms)
        self.watermark[partition] = mark
        limit = mark - self.config.grace_ms
        heap = self.due_heap.get(partition)
        if not heap or heap[0][0] >= limit:
            return
        parked = self.parked.get(partition, {})
        due: set[str] = set()
        while heap and heap[0][0] < limit:
            t, request_id = heapq.heappop(heap)
            entry = parked.get(request_id)
            if entry is not None and entry[0] == t:
                due.add(request_id)
        self._release(table, partition, sorted(due), em)

    def _release(self, table: Table, partition: int, due: list[str], em: Emitter) -> None:
        parked = self.parked.get(partition, {})
        for request_id in due:
            parked.pop(request_id)
            value = table.get(request_id)
            if value is None:
                continue
            state, released = attribution.expire(attribution.RequestState.from_json(value[0]))
            self._emit_attributed(em, released)
            table[request_id] = [state, value[1], value[2]]

    def on_tick(self, table: Table, partition: int, offset: int, now_ms: int) -> list[Derived]:
        """A wall-clock tick for one partition: release what was parked (in wall time)
        longer than the grace, so an idle partition does not hold outcomes forever.

        Ticks reach a partition like any record, so the releases are written from
        within that partition (the table's changelog stays partition-local).
        """
        em = Emitter(TICK_STAGE, partition, offset)
        limit = now_ms - self.config.grace_wall_ms
        due = sorted(r for r, (_, w) in self.parked.get(partition, {}).items() if w < limit)
        self._release(table, partition, due, em)
        return em.out

    def rebuild(self, table: Table, partition_of: dict[str, int], wall_ms: int) -> None:
        """After recovery: find parked outcomes again (their wait restarts now)."""
        self.parked.clear()
        self.due_heap.clear()
        for request_id, value in list(table.items()):
            state = attribution.RequestState.from_json(value[0])
            if state.pending and request_id in partition_of:
                oldest = min(p.timestamp_ms for p in state.pending)
                self._park(partition_of[request_id], request_id, oldest, wall_ms)


# --- user stage ----------------------------------------------------------------------


def user_stage(
    table: Table, partition: int, offset: int, msg: EngagementMsg, config: StateConfig
) -> list[Derived]:
    """History and pairing; idempotent by content (a repeated engagement changes nothing)."""
    a = msg.attributed
    key = join_key(a.tenant, a.user_id)
    raw = table.get(key)
    state = history.UserState.from_json(raw)
    eng = history.Engagement(a.tenant, a.surface, a.user_id, a.item_id, a.t_ms)
    new_state, pairs = history.apply(state, eng, config.history)
    em = Emitter(USER_STAGE, partition, offset)
    for x, y in pairs:
        em.out.append(PairMsg(a.tenant, a.surface, x, y, em.stamp()))
        em.out.append(PairMsg(a.tenant, a.surface, y, x, em.stamp()))
    if new_state != state:
        table[key] = new_state  # its JSON is written once per batch (state_json)
    return em.out


# --- item stage ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What the item stage changed, for the view publisher."""

    tenant: str
    surface: str
    item_id: str
    kind: str  # "pop" or "covis" (item_id is then the anchor)


def _mark_key(partition: int, stamp: Stamp) -> str:
    return f"~mark{partition}/{stamp.mark_key}"


def item_stage(
    table: Table, partition: int, offset: int, msg: PopularityMsg | PairMsg, config: StateConfig
) -> ItemChange | None:
    """Fold one item update; ``None`` when it was a redelivery or a duplicate."""
    mark_key = _mark_key(partition, msg.stamp)
    mark_raw = table.get(mark_key)
    mark: Origin | None = (mark_raw[0], mark_raw[1]) if mark_raw is not None else None
    if is_duplicate(mark, msg.stamp):
        return None
    change: ItemChange | None
    if isinstance(msg, PopularityMsg):
        key = join_key("p", msg.tenant, msg.surface, msg.item_id)
        value = table.get(key)
        if value is not None and is_redelivery(value[2], offset):
            change = None  # applied before the crash; only the mark was lost
        else:
            prev = Decayed(value[0], value[1]) if value is not None else None
            score = add(prev, msg.weight, msg.t_ms, config.popularity.half_life_ms)
            table[key] = [score.value, score.t_ms, offset]
            change = ItemChange(msg.tenant, msg.surface, msg.item_id, "pop")
    else:
        key = join_key("c", msg.tenant, msg.surface, msg.anchor, msg.neighbour)
        value = table.get(key)
        if value is not None and is_redelivery(value[1], offset):
            change = None
        else:
            table[key] = [(value[0] if value is not None else 0) + 1, offset]
            change = ItemChange(msg.tenant, msg.surface, msg.anchor, "covis")
    table[mark_key] = [msg.stamp.offset, msg.stamp.index]
    return change


def parse_item_key(key: str) -> tuple[str, list[str]] | None:
    """('p', [tenant, surface, item]) or ('c', [tenant, surface, anchor, neighbour])."""
    if key.startswith("~"):
        return None
    kind, *rest = split_key(key)
    return kind, rest
