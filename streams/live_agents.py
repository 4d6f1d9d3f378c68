"""Faust wiring of the live join: one task over exposures, outcomes, assignments and its
own wall-clock ticks; a timer that publishes each partition's tally.

The input reaches the task as whole batches (``streams.batch_topic``): the conductor
fetches, rebalances and commits as for an agent, but no per-record stream runs. The
task only decodes, calls ``LiveJoin.apply`` on a write-behind view of its table
(``streams.overlay``), sends the joined records to ``recsys.joined.v1``, awaits their
acks, commits the table writes and only then acks the batch's input records (so their
offsets can be committed) — so a crash never loses a joined record whose state change
was persisted (the joined topic is at-least-once: a crash between the acks and the
commit re-emits them). State is exact across SIGKILL: each table value carries the
input offsets it absorbed (``streams.live.partition``), and the tallies are rebuilt
from the table on recovery.

Records that do not decode are skipped here; the request stage (``streams.agents``)
dead-letters them.
"""

from __future__ import annotations

import asyncio
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
from streams.batch_io import Record, Write, persist, send_all
from streams.batch_topic import BatchTopic
from streams.live.config import LiveConfig
from streams.live.joined import encode_joined
from streams.live.partition import (
    ASSIGNMENT,
    EXPOSURE,
    OUTCOME,
    LiveJoin,
    changelog_order,
)
from streams.overlay import Overlay
from streams.stores import MEMORY_STORE_URL, local_state, uses_memory_store
from streams.stores import register as register_stores
from streams.timers import quiet_on_stop

log = logging.getLogger(__name__)
LIVE_TICKS_TOPIC = "recsys.internal.live-ticks.v1"
TICK_INTERVAL_S = 1.0
BATCH_MAX = 2000
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


@dataclass
class RetiredFirst:
    """A batch's staged writes, persisted in ``changelog_order``."""

    staged: Overlay

    def writes(self) -> list[Write]:
        return changelog_order(self.staged.writes())

    def clear(self) -> None:
        self.staged.clear()


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
    app: faust.App,
    codec: AvroCodec,
    *,
    partitions: int,
    config: LiveConfig,
    own_stores: bool | None = None,
) -> LiveTables:
    """Define the live-join task, its table and its two timers on ``app``; the table in
    ``streams.stores`` when ``own_stores`` (default: when the app's store is memory://)."""
    join = LiveJoin(config)
    register_stores()
    if own_stores is None:
        own_stores = uses_memory_store(app)
    kw: dict[str, Any] = {"store": MEMORY_STORE_URL} if own_stores else {}
    table = app.Table("live-join", default=None, partitions=partitions, **kw)
    t = LiveTables(table, join)
    joined_topic = _raw_topic(app, topics.JOINED, partitions=partitions)
    view_topic = _raw_topic(app, topics.LIVE_VIEW, partitions=partitions)
    ticks = _raw_topic(app, LIVE_TICKS_TOPIC, partitions=partitions)
    inputs = BatchTopic(
        app,
        topics.EXPOSURES,
        topics.OUTCOMES,
        topics.ASSIGNMENTS,
        LIVE_TICKS_TOPIC,
        partitions=partitions,
    )

    joined_name = joined_topic.get_topic_name()
    registry = codec.registry
    # The publisher must not snapshot a partition in the middle of a batch: a rebuilt
    # snapshot reads the table, which holds the batch's writes only once it is persisted.
    batch_lock = asyncio.Lock()

    @app.task  # type: ignore[untyped-decorator]
    async def live_join() -> None:
        async for batch in inputs.batches(BATCH_MAX):
            async with batch_lock:
                staged = Overlay(local_state(table))
                out: list[Record] = []
                now_ms = int(time.time() * 1000)
                for msg in batch:
                    p = staged.partition = msg.partition
                    if msg.value is None:  # a tombstone: the request stage dead-letters it
                        t.skipped += 1
                        continue
                    if msg.topic == LIVE_TICKS_TOPIC:
                        join.on_tick(staged, p, int(orjson.loads(msg.value)["now_ms"]))
                        continue
                    try:
                        event = await codec.decode_async(
                            msg.value, topics.SCHEMA_FOR_TOPIC[msg.topic]
                        )
                    except ContractError:
                        t.skipped += 1
                        continue
                    if not isinstance(event, Exposure | Outcome | Assignment):
                        continue
                    try:  # checked before the join touches any state: never a crash
                        event.timestamp_ms  # noqa: B018
                    except ContractError:
                        t.skipped += 1
                        continue
                    for j in join.apply(
                        staged, p, TOPIC_INDEX[msg.topic], msg.offset, event, now_ms
                    ):
                        out.append((j.request_id.encode(), encode_joined(j, registry), p))
                    t.processed += 1
                t.joined_sent += await send_all(app, joined_name, out)
                await persist(app, (table, RetiredFirst(staged)))

    view_name = view_topic.get_topic_name()

    def changed_docs() -> list[Record]:
        now_ms = int(time.time() * 1000)
        out: list[Record] = []
        for p, ps in sorted(join.partitions.items()):
            if t.published_versions.get(p) != ps.version:
                doc = join.snapshot_doc(local_state(table), p, now_ms)
                t.published_versions[p] = ps.version
                out.append((str(p).encode(), orjson.dumps(doc), None))
        return out

    @app.timer(config.publish_interval_s)  # type: ignore[untyped-decorator]
    @quiet_on_stop(app)
    async def publish_live_view() -> None:
        # The snapshots are taken between batches (under the lock, without awaiting);
        # the lock is not held while they are sent, so the agent never waits on it.
        async with batch_lock:
            docs = changed_docs()
        t.published += await send_all(app, view_name, docs)

    @app.timer(TICK_INTERVAL_S)  # type: ignore[untyped-decorator]
    @quiet_on_stop(app)
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
        store = local_state(table)
        join.adopt(store, owned, int(time.time() * 1000))
        log.info("live join holds partitions %s (%d table keys)", sorted(owned), len(store))
        t.published_versions.clear()

    return t
