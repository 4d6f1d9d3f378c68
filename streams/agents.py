"""Faust agents of the spine: decode every input topic, dead-letter the bad, count the good.

The agents only decode, look up state, call the pure reducers in ``streams.counts``
and write back; all logic lives in pure modules.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import faust

from schemas import topics
from schemas.codec import AvroCodec
from schemas.events import Exposure, Outcome
from streams.counts import Tally, apply_tally, engaged_deltas, shown_deltas
from streams.deadletter import DeadLetter, decode_or_dead_letter

log = logging.getLogger(__name__)


@dataclass
class StreamStats:
    """Process-local counters for health output and metrics."""

    processed: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    skipped_replays: int = 0

    def saw(self, topic: str) -> None:
        self.processed[topic] = self.processed.get(topic, 0) + 1


@dataclass
class SpineTables:
    """The tables the spine keeps and the topics it reads."""

    shown: Any  # faust.Table[str, list[int]]
    engaged: Any
    stats: StreamStats

    def tallies(self, table: Any) -> Iterator[tuple[str, int]]:
        for key, raw in list(table.items()):
            tally = Tally.from_json(raw)
            if tally is not None:
                yield key, tally.count


def _raw_topic(app: faust.App, name: str, partitions: int) -> Any:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def register_spine(app: faust.App, codec: AvroCodec, *, partitions: int) -> SpineTables:
    """Define the decode agents and the two count tables on ``app``."""
    stats = StreamStats()
    deadletter = _raw_topic(app, topics.DEADLETTER, partitions)
    shown = app.Table("shown-counts", default=None, partitions=partitions, value_type=list)
    engaged = app.Table("engaged-counts", default=None, partitions=partitions, value_type=list)
    tables = SpineTables(shown=shown, engaged=engaged, stats=stats)

    async def dead_letter(dl: DeadLetter) -> None:
        stats.dead_letters += 1
        log.warning("dead letter %s[%d]@%d: %s", dl.topic, dl.partition, dl.offset, dl.reason)
        await deadletter.send(key=dl.key, value=dl.value, headers=dl.headers())

    def fold(table: Any, deltas: dict[str, int], offset: int) -> None:
        for key, delta in deltas.items():
            nxt = apply_tally(Tally.from_json(table.get(key)), delta, offset)
            if nxt is None:
                stats.skipped_replays += 1
            else:
                table[key] = nxt.to_json()

    async def decoded(stream: Any, topic: str) -> AsyncIterator[tuple[int, int, Any]]:
        schema = topics.SCHEMA_FOR_TOPIC[topic]
        async for ev in stream.events():
            msg = ev.message
            result = await decode_or_dead_letter(
                codec,
                schema=schema,
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                key=msg.key,
                value=msg.value,
            )
            stats.saw(topic)
            if isinstance(result, DeadLetter):
                await dead_letter(result)
                continue
            yield msg.partition, msg.offset, result

    @app.agent(_raw_topic(app, topics.EXPOSURES, partitions), name="exposures")
    async def exposures(stream: Any) -> None:
        async for partition, offset, event in decoded(stream, topics.EXPOSURES):
            fold(shown, shown_deltas(partition, cast(Exposure, event)), offset)

    @app.agent(_raw_topic(app, topics.OUTCOMES, partitions), name="outcomes")
    async def outcomes(stream: Any) -> None:
        async for partition, offset, event in decoded(stream, topics.OUTCOMES):
            fold(engaged, engaged_deltas(partition, cast(Outcome, event)), offset)

    @app.agent(_raw_topic(app, topics.ASSIGNMENTS, partitions), name="assignments")
    async def assignments(stream: Any) -> None:
        # Decoded and dead-lettered now; the live join consumes them in its own issue.
        async for _ in decoded(stream, topics.ASSIGNMENTS):
            pass

    @app.agent(_raw_topic(app, topics.ITEMS, partitions), name="items")
    async def items(stream: Any) -> None:
        # Decoded and dead-lettered now; the catalog table comes with the stream-state issue.
        async for _ in decoded(stream, topics.ITEMS):
            pass

    return tables
