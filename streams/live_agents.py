"""Faust wiring of the live join: one agent over exposures, outcomes, assignments and
its own wall-clock ticks; a timer that publishes each partition's tally.

The agent only decodes, calls ``LiveJoin.apply`` on a write-behind view of its table
(``streams.overlay``), sends the joined records to ``recsys.joined.v1``, awaits their
acks and then commits the table writes — so a crash never loses a joined record whose
state change was persisted (the joined topic is at-least-once: a crash between the
acks and the commit re-emits them). State is exact across SIGKILL: each table value
carries the input offsets it absorbed (``streams.live.partition``), and the tallies
are rebuilt from the table on recovery.

Records that do not decode are skipped here; the main request agents dead-letter them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson

from schemas import topics
from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.events import Assignment, Exposure, Outcome
from streams.live.config import LiveConfig
from streams.live.joined import encode_joined
from streams.live.partition import ASSIGNMENT, EXPOSURE, OUTCOME, LiveJoin
from streams.overlay import Overlay

log = logging.getLogger(__name__)
LIVE_TICKS_TOPIC = "recsys.internal.live-ticks.v1"
TICK_INTERVAL_S = 1.0
TOPIC_INDEX = {topics.EXPOSURES: EXPOSURE, topics.OUTCOMES: OUTCOME, topics.ASSIGNMENTS: ASSIGNMENT}


@dataclass
class LiveTables:
    """Handles of the live join in a worker (for tests, benchmarks and health)."""

    table: Any
    join: LiveJoin
    processed: int = 0
    joined_sent: int = 0
    skipped: int = 0
    published: int = 0
    published_versions: dict[int, int] = field(default_factory=dict)


def _raw_topic(app: faust.App, *names: str, partitions: int) -> Any:
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def register_live_agents(
    app: faust.App, codec: AvroCodec, *, partitions: int, config: LiveConfig
) -> LiveTables:
    """Define the live-join agent, its table and its two timers on ``app``."""
    join = LiveJoin(config)
    table = app.Table("live-join", default=None, partitions=partitions)
    t = LiveTables(table, join)
    joined_topic = _raw_topic(app, topics.JOINED, partitions=partitions)
    view_topic = _raw_topic(app, topics.LIVE_VIEW, partitions=partitions)
    ticks = _raw_topic(app, LIVE_TICKS_TOPIC, partitions=partitions)
    inputs = _raw_topic(
        app,
        topics.EXPOSURES,
        topics.OUTCOMES,
        topics.ASSIGNMENTS,
        LIVE_TICKS_TOPIC,
        partitions=partitions,
    )

    @app.agent(inputs, name="live-join")
    async def live_join(stream: Any) -> None:
        async for ev in stream.events():
            msg = ev.message
            now_ms = int(time.time() * 1000)
            if msg.topic == LIVE_TICKS_TOPIC:
                join.on_tick(table, msg.partition, int(orjson.loads(msg.value)["now_ms"]))
                continue
            try:
                event = await codec.decode_async(msg.value, topics.SCHEMA_FOR_TOPIC[msg.topic])
            except ContractError:
                t.skipped += 1
                continue
            if not isinstance(event, Exposure | Outcome | Assignment):
                continue
            staged = Overlay(table)
            joined = join.apply(
                staged, msg.partition, TOPIC_INDEX[msg.topic], msg.offset, event, now_ms
            )
            futures = [
                await joined_topic.send(
                    key=j.request_id.encode(), value=encode_joined(j, codec.registry), force=True
                )
                for j in joined
            ]
            for fut in futures:
                await fut
            staged.commit()
            t.processed += 1
            t.joined_sent += len(joined)

    @app.timer(config.publish_interval_s)  # type: ignore[untyped-decorator]
    async def publish_live_view() -> None:
        now_ms = int(time.time() * 1000)
        for p, ps in sorted(join.partitions.items()):
            if t.published_versions.get(p) == ps.version:
                continue
            doc = join.snapshot_doc(table, p, now_ms)
            t.published_versions[p] = ps.version
            await view_topic.send(key=str(p).encode(), value=orjson.dumps(doc))
            t.published += 1

    @app.timer(TICK_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def send_live_ticks() -> None:
        """Wake each owned partition: release outcomes parked past the wall-clock grace
        on idle partitions and forget expired requests."""
        now_ms = int(time.time() * 1000)
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topics.EXPOSURES}
        for p in sorted(owned):
            await ticks.send(value=orjson.dumps({"now_ms": now_ms}), partition=p)

    @table.on_recover
    async def rebuild_live_join() -> None:
        owned = {
            tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.EXPOSURES
        }
        join.adopt(table, owned, int(time.time() * 1000))
        t.published_versions.clear()

    return t
