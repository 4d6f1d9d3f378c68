"""Batch twin of the live join: the same code folded over a list of records.

``initial() / apply(state, record) / result(state)`` is the reducer the Faust agent runs
record by record; ``batch_snapshots`` routes events to partitions the way Kafka's
default partitioner does (murmur2 of request_id), numbers them per topic partition and
folds them in order — what a full replay through the worker ends with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.partitioner import murmur2

from schemas.events import Assignment, Exposure, Outcome
from streams.live.config import LiveConfig
from streams.live.partition import ASSIGNMENT, EXPOSURE, OUTCOME, LiveJoin
from streams.live.request import Joined

Event = Exposure | Outcome | Assignment
TOPIC_INDEX = {Exposure: EXPOSURE, Outcome: OUTCOME, Assignment: ASSIGNMENT}


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: where it came from and what it holds."""

    partition: int
    offset: int
    event: Event


@dataclass
class TwinState:
    join: LiveJoin
    table: dict[str, Any] = field(default_factory=dict)
    joined: list[Joined] = field(default_factory=list)


def initial(config: LiveConfig | None = None) -> TwinState:
    return TwinState(LiveJoin(config or LiveConfig()))


def apply(state: TwinState, record: Record) -> TwinState:
    topic = TOPIC_INDEX[type(record.event)]
    state.joined += state.join.apply(
        state.table, record.partition, topic, record.offset, record.event
    )
    return state


def tick(state: TwinState, partition: int, wall_ms: int) -> TwinState:
    state.join.on_tick(state.table, partition, wall_ms)
    return state


def result(state: TwinState, as_of_ms: int = 0) -> list[dict[str, Any]]:
    """Every partition's snapshot document, as the worker publishes them."""
    return [
        state.join.snapshot_doc(state.table, p, as_of_ms) for p in sorted(state.join.partitions)
    ]


def partition_of(request_id: str, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, as the producer)."""
    return int(murmur2(request_id.encode()) & 0x7FFFFFFF) % partitions


def route(events: Iterable[Event], partitions: int = 1) -> list[Record]:
    """Records as a producer writing ``events`` in order would create them."""
    next_offset: dict[tuple[type, int], int] = {}
    out = []
    for e in events:
        p = partition_of(e.request_id, partitions)
        o = next_offset.get((type(e), p), 0)
        next_offset[(type(e), p)] = o + 1
        out.append(Record(p, o, e))
    return out


def batch_snapshots(
    events: Iterable[Event], config: LiveConfig | None = None, partitions: int = 1
) -> list[dict[str, Any]]:
    """Fold events (in this arrival order) and return the partition snapshots."""
    state = initial(config)
    for record in route(events, partitions):
        apply(state, record)
    return result(state)
