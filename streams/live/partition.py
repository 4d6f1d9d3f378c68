"""The live join of the partitions a worker owns: table updates, tallies, releases, expiry.

Plain code over a dict-like table (a Faust table's local store in the worker, a dict
in tests). Table keys are ``partition␟request_id``; a value is ``[state, exposure
offset, outcome offset, assignment offset]``: the last input offset of each topic
folded into the request, so a redelivered record is skipped (``streams.dedupe`` check
1). In memory ``state`` is the ``RequestState`` itself (decoded once, not per event);
on the changelog it is its JSON (``streams.state_json``), which recovery puts back —
so a value read from the table may hold either (``RequestState.of``).
The key ``partition␟␟retired`` holds what expired requests contributed.

A partition's ``Tally`` lives in memory and is always
``retired + Σ contribution(request)`` over the partition's table entries: each event
adds contribution(new) − contribution(old) of its request, and recovery rebuilds it
from the table (``rebuild``). Nothing else needs to be exact across a crash.

Expiry (``on_tick``): a request is forgotten once the partition's event time passes
its newest event + window + grace. The retired accumulator, with the ids it absorbed,
is written first and the requests deleted after it, so a crash in between is
recognised at recovery (ids in the last batch still in the table are skipped and
deleted at the next tick).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from schemas.events import Assignment, Exposure, Outcome
from streams.dedupe import is_redelivery
from streams.keys import SEP, join_key
from streams.live import request as rq
from streams.live.config import LiveConfig
from streams.live.request import Joined, RequestState
from streams.live.tally import Tally, contribution

Table = MutableMapping[str, Any]
EXPOSURE, OUTCOME, ASSIGNMENT = 1, 2, 3
"""Index of each input topic's offset in a table value."""
RETIRED = "\x1fretired"
W = TypeVar("W", bound=tuple[Any, ...])


def request_key(partition: int, request_id: str) -> str:
    return join_key(str(partition), request_id)


def retired_key(partition: int) -> str:
    return join_key(str(partition), RETIRED)


def changelog_order(writes: Iterable[W]) -> list[W]:
    """A batch's table writes ``(key, ...)`` with the retired accumulators first.

    The accumulator must reach the changelog before the deletes of the requests it
    absorbed; a batch that stages its writes keeps each key at its first write, so a
    request updated earlier in the batch would otherwise be deleted before it.
    """
    return sorted(writes, key=lambda w: not w[0].endswith(RETIRED))


@dataclass
class PartitionState:
    """In-memory side of one partition: its tally and indexes (rebuilt on recovery)."""

    tally: Tally = field(default_factory=Tally)
    retired: Tally = field(default_factory=Tally)
    watermark: int = 0
    parked: dict[str, tuple[int, int]] = field(default_factory=dict)
    """request_id → (event time of its oldest waiting outcome, wall time it was parked)."""
    parked_heap: list[tuple[int, str]] = field(default_factory=list)
    expiry: list[tuple[int, str]] = field(default_factory=list)
    """Heap of (newest event time, request_id); checked lazily against the table."""
    stale: set[str] = field(default_factory=set)
    """Already retired before a crash but still in the table: delete, do not count."""
    exact: bool = True
    """False after a retracted time bound: rebuild before publishing."""
    version: int = 0
    """Bumped on every change (the publisher sends a snapshot when it moved)."""


@dataclass
class LiveJoin:
    config: LiveConfig
    partitions: dict[int, PartitionState] = field(default_factory=dict)

    def part(self, partition: int) -> PartitionState:
        ps = self.partitions.get(partition)
        if ps is None:
            ps = self.partitions[partition] = PartitionState()
        return ps

    # -- events --------------------------------------------------------------------------
    def _load(self, table: Table, ps: PartitionState, key: str, rid: str) -> list[Any]:
        if rid in ps.stale:
            ps.stale.discard(rid)
            return [None, None, None, None]
        raw = table.get(key)
        return list(raw) if raw is not None else [None, None, None, None]

    def _store(
        self,
        table: Table,
        ps: PartitionState,
        rid: str,
        key: str,
        value: list[Any],
        old: RequestState,
        new: RequestState,
    ) -> None:
        if not ps.tally.change(contribution(old, self.config), contribution(new, self.config)):
            ps.exact = False
        value[0] = new
        table[key] = value
        ps.version += 1
        if new.last_ms != old.last_ms:
            heapq.heappush(ps.expiry, (new.last_ms, rid))

    def apply(
        self,
        table: Table,
        partition: int,
        topic: int,
        offset: int,
        event: Exposure | Outcome | Assignment,
        wall_ms: int = 0,
    ) -> list[Joined]:
        """Fold one input record; returns the outcomes it joined (for recsys.joined.v1)."""
        ps = self.held(table, partition, wall_ms)
        rid = event.request_id
        key = request_key(partition, rid)
        value = self._load(table, ps, key, rid)
        joined: list[Joined] = []
        t_ms = event.timestamp_ms
        if not is_redelivery(value[topic], offset):
            old = RequestState.of(value[0])
            if isinstance(event, Exposure):
                new, joined = rq.on_exposure(old, event, self.config, t_ms)
                self._unpark(ps, rid)
            elif isinstance(event, Outcome):
                new, joined = rq.on_outcome(old, event, self.config, t_ms)
                oldest = rq.oldest_pending_ms(new)
                if oldest is not None and rid not in ps.parked:
                    ps.parked[rid] = (oldest, wall_ms)
                    heapq.heappush(ps.parked_heap, (oldest, rid))
            else:
                new = rq.on_assignment(old, event, self.config, t_ms)
            value[topic] = offset
            self._store(table, ps, rid, key, value, old, new)
        ps.watermark = max(ps.watermark, t_ms)
        self._release_due(table, partition, ps)
        return joined

    def _unpark(self, ps: PartitionState, rid: str) -> None:
        ps.parked.pop(rid, None)

    def _release(self, table: Table, partition: int, ps: PartitionState, rid: str) -> None:
        ps.parked.pop(rid, None)
        key = request_key(partition, rid)
        raw = table.get(key)
        if raw is None or rid in ps.stale:
            return
        value = list(raw)
        old = RequestState.of(value[0])
        new = rq.expire(old)
        if new != old:
            self._store(table, ps, rid, key, value, old, new)

    def _release_due(self, table: Table, partition: int, ps: PartitionState) -> None:
        """Outcomes that waited past the grace in event time become orphans."""
        limit = ps.watermark - self.config.grace_ms
        heap = ps.parked_heap
        while heap and heap[0][0] < limit:
            _, rid = heapq.heappop(heap)
            if rid in ps.parked:
                self._release(table, partition, ps, rid)

    def on_tick(self, table: Table, partition: int, wall_ms: int) -> None:
        """Wall-clock tick: release outcomes parked longer than the grace in wall time
        (an idle partition), then forget requests past window + grace."""
        ps = self.held(table, partition, wall_ms)
        self._release_due(table, partition, ps)
        limit = wall_ms - self.config.grace_wall_ms
        for rid in [r for r, (_, w) in ps.parked.items() if w < limit]:
            self._release(table, partition, ps, rid)
        self._expire(table, partition, ps)

    def _expire(self, table: Table, partition: int, ps: PartitionState) -> None:
        horizon = ps.watermark - self.config.attribution_window_ms - self.config.grace_ms
        batch: list[str] = []
        while ps.expiry and ps.expiry[0][0] < horizon:
            t, rid = heapq.heappop(ps.expiry)
            raw = table.get(request_key(partition, rid))
            if raw is None or rid in ps.stale:
                continue
            state = RequestState.of(raw[0])
            if state.last_ms != t:
                continue  # a newer entry for this request is in the heap
            if state.pending:
                continue  # released first (by the grace), then expired later
            ps.retired.add(contribution(state, self.config))
            batch.append(rid)
        if not batch and not ps.stale:
            return
        for rid in sorted(ps.stale):
            table.pop(request_key(partition, rid), None)
        ps.stale.clear()
        if batch:
            table[retired_key(partition)] = [ps.retired.to_json(), batch]
            for rid in batch:
                table.pop(request_key(partition, rid), None)
            ps.version += 1

    # -- recovery ------------------------------------------------------------------------
    def rebuild(self, table: Table, partitions: set[int], wall_ms: int) -> None:
        """Recompute every given partition's tally and indexes from the table (and forget
        partitions not given)."""
        self.partitions = {}
        self.adopt(table, partitions, wall_ms)

    def adopt(self, table: Table, partitions: set[int], wall_ms: int) -> None:
        """Build the partitions this join does not hold yet from the table; drop the rest.

        Partitions already held keep their in-memory state, which equals the table's:
        only this process wrote them since they were built.
        """
        for p in [p for p in self.partitions if p not in partitions]:
            del self.partitions[p]
        new = {p for p in partitions if p not in self.partitions}
        if not new:
            return
        built = {p: PartitionState() for p in new}
        last_batch: dict[int, set[str]] = {}
        for p in new:
            raw = table.get(retired_key(p))
            if raw is not None:
                built[p].retired = Tally.from_json(raw[0])
                last_batch[p] = set(raw[1])
        for key, value in list(table.items()):
            p_text, _, rid = key.partition(SEP)
            if rid == RETIRED or not p_text.isdigit() or int(p_text) not in new:
                continue
            ps = built[int(p_text)]
            if rid in last_batch.get(int(p_text), ()):
                ps.stale.add(rid)
                continue
            state = RequestState.of(value[0])
            ps.tally.add(contribution(state, self.config))
            ps.watermark = max(ps.watermark, state.last_ms)
            heapq.heappush(ps.expiry, (state.last_ms, rid))
            oldest = rq.oldest_pending_ms(state)
            if oldest is not None:
                ps.parked[rid] = (oldest, wall_ms)
                heapq.heappush(ps.parked_heap, (oldest, rid))
        for p, ps in built.items():
            ps.tally.merge(ps.retired)
            ps.version += 1
            self.partitions[p] = ps

    def held(self, table: Table, partition: int, wall_ms: int = 0) -> PartitionState:
        """The partition's state, built from the table first if it is not held yet."""
        ps = self.partitions.get(partition)
        if ps is None:
            self.adopt(table, {*self.partitions, partition}, wall_ms)
            ps = self.partitions[partition]
        return ps

    def snapshot(self, table: Table, partition: int) -> Tally:
        """The partition's exact tally (rebuilt from the table if a bound was retracted)."""
        ps = self.part(partition)
        if not ps.exact:
            fresh = Tally()
            fresh.merge(ps.retired)
            prefix = join_key(str(partition), "")
            for key, value in list(table.items()):
                rid = key[len(prefix) :]
                if key.startswith(prefix) and rid != RETIRED and rid not in ps.stale:
                    fresh.add(contribution(RequestState.of(value[0]), self.config))
            ps.tally, ps.exact = fresh, True
        return ps.tally

    def snapshot_doc(self, table: Table, partition: int, as_of_ms: int) -> dict[str, Any]:
        """The record published to ``recsys.views.live.v1`` for one partition."""
        ps = self.part(partition)
        return {
            "v": 1,
            "partition": partition,
            "as_of_ms": as_of_ms,
            "watermark_ms": ps.watermark,
            "slice_keys": list(self.config.slice_keys),
            "tally": self.snapshot(table, partition).to_json(),
        }
