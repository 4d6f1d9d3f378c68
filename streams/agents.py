"""Faust tasks and agents: decode → dead letter, the three state stages, view publishing.

They only decode, look up state, call the pure stage functions and send what they
return; all logic lives in pure modules (``streams.stages``, ``streams.counts``).

The three state stages work a batch of input records at a time, taken whole from a
``streams.batch_topic.BatchTopic`` (no per-record Faust stream): the stages write into
an ``Overlay``, the derived messages go out as one envelope per destination partition,
the task awaits Kafka's acks, and only then writes each changed table key once, to the
changelog partition of the input record that changed it. The batch's input records are
acked after that, so Faust's offset commit (which first flushes the changelogs) never
runs ahead of the state. Assignments and catalog records, which are only decoded (and
dead-lettered) here, go through plain agents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import faust
import orjson
from aiokafka.partitioner import murmur2

from schemas import topics
from schemas.codec import AvroCodec
from schemas.events import Exposure, Outcome
from schemas.views import (
    COVISITATION_VIEW,
    HISTORY_VIEW,
    POPULARITY_VIEW,
    encode_history,
    encode_neighbours,
    encode_popularity,
    view_key,
)
from streams.batch_io import persist as write_changelogs
from streams.batch_io import send_many
from streams.batch_topic import BatchTopic
from streams.counts import Tally, engaged_deltas, fold_json, shown_deltas
from streams.deadletter import DeadLetter, decode_or_dead_letter
from streams.decay import Decayed
from streams.history import UserState
from streams.keys import join_key, split_key
from streams.messages import (
    ENGAGEMENTS_TOPIC,
    ITEM_UPDATES_TOPIC,
    Derived,
    EngagementMsg,
    PairMsg,
    PopularityMsg,
    decode_envelope,
    envelopes,
    virtual_offset,
)
from streams.overlay import Overlay
from streams.pair_store import PairMap, anchor_of
from streams.stages import RequestStage, item_stage, parse_item_key, user_stage
from streams.state_config import StateConfig
from streams.stores import MEMORY_STORE_URL, PAIR_STORE_URL, local_state, uses_memory_store
from streams.stores import register as register_stores
from streams.timers import quiet_on_stop
from streams.view_index import ViewIndex

log = logging.getLogger(__name__)
TICKS_TOPIC = "recsys.internal.ticks.v1"
TICK_INTERVAL_S = 1.0
BATCH_MAX = 2000


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (murmur2, as the producer)."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class StreamStats:
    """Process-local counters for health output and metrics."""

    processed: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    skipped_replays: int = 0
    published: int = 0

    def saw(self, topic: str) -> None:
        self.processed[topic] = self.processed.get(topic, 0) + 1


@dataclass
class StreamTables:
    """The tables the worker keeps (Faust tables: changelog-backed)."""

    shown: Any
    engaged: Any
    requests: Any
    users: Any
    items: Any
    stats: StreamStats
    index: ViewIndex

    def tallies(self, table: Any) -> Iterator[tuple[str, int]]:
        for key, raw in list(table.items()):
            tally = Tally.from_json(raw)
            if tally is not None:
                yield key, tally.count


def _raw_topic(app: faust.App, *names: str, partitions: int, **kw: Any) -> Any:
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        **kw,
    )


def register_agents(
    app: faust.App,
    codec: AvroCodec,
    *,
    partitions: int,
    config: StateConfig,
    own_stores: bool | None = None,
) -> StreamTables:
    """Define every agent, table and timer of the stream worker on ``app``.

    ``own_stores`` (default: when the app's store is ``memory://``) puts the tables in
    ``streams.stores``; otherwise (``rocksdb://``) they use the app's store, and the view
    index keeps its own copy of the co-visitation counts to publish from.
    """
    if own_stores is None:
        own_stores = uses_memory_store(app)
    stats = StreamStats()
    index = ViewIndex(config.popularity.half_life_ms, config.popularity.top_k, config.covis_top_n)
    request_stage = RequestStage(config)
    deadletter = _raw_topic(app, topics.DEADLETTER, partitions=partitions)
    ticks = _raw_topic(app, TICKS_TOPIC, partitions=partitions)

    def table(name: str, store: str = MEMORY_STORE_URL) -> Any:
        # No value_type: values are plain JSON (lists/dicts); Faust would otherwise call
        # value_type.from_data() on every changelog record during recovery.
        kw: dict[str, Any] = {"store": store} if own_stores else {}
        return app.Table(name, default=None, partitions=partitions, **kw)

    register_stores()

    t = StreamTables(
        shown=table("shown-counts"),
        engaged=table("engaged-counts"),
        requests=table("requests"),
        users=table("users"),
        items=table("item-state", store=PAIR_STORE_URL),
        stats=stats,
        index=index,
    )

    async def dead_letter(dl: DeadLetter) -> None:
        stats.dead_letters += 1
        log.warning("dead letter %s[%d]@%d: %s", dl.topic, dl.partition, dl.offset, dl.reason)
        await deadletter.send(key=dl.key, value=dl.value, headers=dl.headers())

    def fold(tbl: Overlay, deltas: dict[str, int], offset: int) -> None:
        for key, delta in deltas.items():
            nxt = fold_json(tbl.get(key), delta, offset)
            if nxt is None:
                stats.skipped_replays += 1
            else:
                tbl[key] = nxt

    persist = partial(write_changelogs, app)

    async def send_derived(out: list[Derived]) -> None:
        """Send one envelope per destination partition and await Kafka's acks.

        Straight to the producer (``streams.batch_io``), not through Faust's topic send:
        that one sends a record at a time, and its attachments would hold the records
        back until the input offset is committed — after the changelog write.
        """
        groups: dict[tuple[str, int], list[Derived]] = {}
        for msg in out:
            name = ENGAGEMENTS_TOPIC if isinstance(msg, EngagementMsg) else ITEM_UPDATES_TOPIC
            groups.setdefault((name, partition_for(msg.key, partitions)), []).append(msg)
        await send_many(
            app,
            [
                (name, [(None, value, partition) for value in envelopes(msgs)])
                for (name, partition), msgs in groups.items()
            ],
        )

    async def decode_event(msg: Any) -> Any:
        """The typed event of an input record, or ``None`` once it is dead-lettered."""
        stats.saw(msg.topic)
        if msg.topic == TICKS_TOPIC:
            return None if msg.value is None else orjson.loads(msg.value)
        result = await decode_or_dead_letter(
            codec,
            schema=topics.SCHEMA_FOR_TOPIC[msg.topic],
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
        )
        if isinstance(result, DeadLetter):
            await dead_letter(result)
            return None
        return result

    async def decoded(stream: Any) -> AsyncIterator[tuple[Any, Any]]:
        async for ev in stream.events():
            event = await decode_event(ev.message)
            if event is not None:
                yield ev.message, event

    request_topics = BatchTopic(
        app, topics.EXPOSURES, topics.OUTCOMES, TICKS_TOPIC, partitions=partitions
    )

    @app.task
    async def requests_task() -> None:
        async for batch in request_topics.batches(BATCH_MAX):
            staged = Overlay(local_state(t.requests))
            shown, engaged = Overlay(local_state(t.shown)), Overlay(local_state(t.engaged))
            out: list[Derived] = []
            for msg in batch:
                event = await decode_event(msg)
                if event is None:
                    continue
                p, o = msg.partition, msg.offset
                staged.partition = shown.partition = engaged.partition = p
                if isinstance(event, Exposure):
                    fold(shown, shown_deltas(p, event), o)
                    out += request_stage.on_exposure(staged, p, o, event)
                elif isinstance(event, Outcome):
                    fold(engaged, engaged_deltas(p, event), o)
                    now_ms = int(time.time() * 1000)
                    out += request_stage.on_outcome(staged, p, o, event, now_ms)
                else:
                    out += request_stage.on_tick(staged, p, o, int(event["now_ms"]))
            await send_derived(out)
            await persist(
                (t.requests, staged), (t.shown, shown), (t.engaged, engaged)
            )

    engagements_in = BatchTopic(app, ENGAGEMENTS_TOPIC, partitions=partitions)

    @app.task
    async def users_task() -> None:
        async for batch in engagements_in.batches(BATCH_MAX):
            users = local_state(t.users)
            staged = Overlay(users)
            out: list[Derived] = []
            touched: set[tuple[str, str]] = set()
            for msg in batch:
                staged.partition = msg.partition
                for i, eng in enumerate(decode_envelope(msg.value)):
                    if not isinstance(eng, EngagementMsg):
                        continue
                    o = virtual_offset(msg.offset, i)
                    out += user_stage(staged, msg.partition, o, eng, config)
                    touched.add((eng.attributed.tenant, eng.attributed.user_id))
            await send_derived(out)
            await persist((t.users, staged))
            for tenant, user in touched:
                state = UserState.from_json(users.get(join_key(tenant, user)))
                index.set_history(tenant, user, state.recent)

    def table_pairs() -> PairMap | None:
        """The item table's PairMap (our store), where the co-visitation view is published
        from; ``None`` with another store: the index then keeps a copy."""
        data = getattr(t.items.data, "data", None)
        return data if isinstance(data, PairMap) else None

    item_updates_in = BatchTopic(app, ITEM_UPDATES_TOPIC, partitions=partitions)

    @app.task
    async def items_task() -> None:
        own = table_pairs()
        if own is not None:
            index.pairs = own
        async for batch in item_updates_in.batches(BATCH_MAX):
            staged = Overlay(t.items)
            for msg in batch:
                staged.partition = msg.partition
                for i, upd in enumerate(decode_envelope(msg.value)):
                    if isinstance(upd, PopularityMsg | PairMsg):
                        o = virtual_offset(msg.offset, i)
                        index_item_change(staged, msg.partition, o, upd)
            pairs = [w for w in staged.writes() if index.pairs.is_pair(w[0])]
            await persist((t.items, staged))
            if own is None:
                for key, partition, value in pairs:
                    index.pairs.set_at(key, value, partition)
            # now that the counts are in the table
            index.mark_covisitation(a for a in (anchor_of(w[0]) for w in pairs) if a)

    def index_item_change(
        staged: Overlay, partition: int, offset: int, upd: PopularityMsg | PairMsg
    ) -> None:
        change = item_stage(staged, partition, offset, upd, config)
        if change is None:
            stats.skipped_replays += 1
        elif change.kind == "pop":
            v = staged[join_key("p", change.tenant, change.surface, change.item_id)]
            index.set_score(
                change.tenant, change.surface, partition, change.item_id, Decayed(v[0], v[1])
            )

    # Assignments and items are decoded and dead-lettered here; the live join and the
    # catalog readers consume the topics themselves.
    @app.agent(_raw_topic(app, topics.ASSIGNMENTS, partitions=partitions), name="assignments")
    async def assignments_agent(stream: Any) -> None:
        async for _ in decoded(stream):
            pass

    @app.agent(_raw_topic(app, topics.ITEMS, partitions=partitions), name="catalog")
    async def catalog_agent(stream: Any) -> None:
        async for ev in stream.events():
            if ev.message.value is None:  # a tombstone deletes the item (compacted topic)
                stats.saw(ev.message.topic)
                continue
            await decode_event(ev.message)

    @app.timer(config.publish_interval_s)
    @quiet_on_stop(app)
    async def publish_views() -> None:
        # Straight to the producer, all records first and the acks awaited once: through
        # Faust's one-record-at-a-time send, ~450 records took ~1 s at 1,000 events/s, so
        # a 0.25 s interval published about once a second (measured, freshness p95 2-3 s).
        # History first: the view a user's next request reads. (The view topics, like
        # every topic here, are created by ``app.kafka_admin.ensure_topics``.)
        pops, covis, hist = index.drain()
        history = [
            (view_key(*h), encode_history(index.history.get(h, ())), None) for h in hist
        ]
        half_life = index.half_life_ms
        popularity = [
            (view_key(*k), encode_popularity(half_life, index.popularity_snapshot(k)), None)
            for k in pops
        ]
        neighbours = [
            (view_key(*c), encode_neighbours(index.neighbour_snapshot(c)), None) for c in covis
        ]
        stats.published += await send_many(
            app,
            [
                (HISTORY_VIEW, history),
                (POPULARITY_VIEW, popularity),
                (COVISITATION_VIEW, neighbours),
            ],
        )

    @app.timer(TICK_INTERVAL_S)
    @quiet_on_stop(app)
    async def send_ticks() -> None:
        """Wake each owned request partition so outcomes past the grace are released."""
        now_ms = int(time.time() * 1000)
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topics.EXPOSURES}
        for p in sorted(owned):
            await ticks.send(value=orjson.dumps({"now_ms": now_ms}), partition=p)

    # After a recovery the tables hold only the partitions this worker owns (our stores
    # drop the others). The dirty marks are rebuilt too: a key of a partition handed over
    # must not be published (its snapshot would now be empty, over the new owner's).

    @t.items.on_recover
    async def rebuild_items_index() -> None:
        index.popularity.clear()
        index.dirty_popularity.clear()
        index.dirty_covisitation.clear()
        own = table_pairs()
        if own is not None:
            index.pairs, rest = own, list(own.other.items())
        else:  # another store: copy the counts into the index again
            index.pairs.clear()
            rest = []
            for key, value in list(t.items.items()):
                if index.pairs.is_pair(key):
                    index.pairs[key] = value
                else:
                    rest.append((key, value))
        for key, value in rest:
            parsed = parse_item_key(key)
            if parsed is not None and parsed[0] == "p":
                tenant, surface, item = parsed[1]
                p = partition_for(join_key(tenant, surface, item), partitions)
                index.set_score(tenant, surface, p, item, Decayed(value[0], value[1]))
        index.mark_covisitation(index.pairs.anchors())

    @t.users.on_recover
    async def rebuild_history_index() -> None:
        index.history.clear()
        index.dirty_history.clear()
        for key, value in list(t.users.items()):
            tenant, user = split_key(key)
            index.set_history(tenant, user, UserState.from_json(value).recent)

    @t.requests.on_recover
    async def rebuild_parked() -> None:
        keys = [k for k, _ in list(t.requests.items())]
        request_stage.rebuild(
            t.requests, {k: partition_for(k, partitions) for k in keys}, int(time.time() * 1000)
        )

    return t
