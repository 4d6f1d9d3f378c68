"""Faust agents: decode → dead letter, the three state stages, view publishing.

The agents only decode, look up state, call the pure stage functions and send what
they return; all logic lives in pure modules (``streams.stages``, ``streams.counts``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
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
from streams.counts import Tally, apply_tally, engaged_deltas, shown_deltas
from streams.deadletter import DeadLetter, decode_or_dead_letter
from streams.decay import Decayed
from streams.history import UserState
from streams.keys import join_key, split_key
from streams.messages import (
    ENGAGEMENTS_TOPIC,
    ITEM_UPDATES_TOPIC,
    EngagementMsg,
    PairMsg,
    PopularityMsg,
    decode,
)
from streams.overlay import Overlay
from streams.stages import RequestStage, item_stage, parse_item_key, user_stage
from streams.state_config import StateConfig
from streams.view_index import ViewIndex

log = logging.getLogger(__name__)
TICKS_TOPIC = "recsys.internal.ticks.v1"
TICK_INTERVAL_S = 1.0


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
    app: faust.App, codec: AvroCodec, *, partitions: int, config: StateConfig
) -> StreamTables:
    """Define every agent, table and timer of the stream worker on ``app``."""
    stats = StreamStats()
    index = ViewIndex(config.popularity.half_life_ms, config.popularity.top_k, config.covis_top_n)
    request_stage = RequestStage(config)
    deadletter = _raw_topic(app, topics.DEADLETTER, partitions=partitions)
    engagements = _raw_topic(app, ENGAGEMENTS_TOPIC, partitions=partitions)
    item_updates = _raw_topic(app, ITEM_UPDATES_TOPIC, partitions=partitions)
    ticks = _raw_topic(app, TICKS_TOPIC, partitions=partitions)
    views = {
        name: _raw_topic(app, name, partitions=partitions)
        for name in (POPULARITY_VIEW, COVISITATION_VIEW, HISTORY_VIEW)
    }

    def table(name: str) -> Any:
        # No value_type: values are plain JSON (lists/dicts); Faust would otherwise call
        # value_type.from_data() on every changelog record during recovery.
        return app.Table(name, default=None, partitions=partitions)

    t = StreamTables(
        shown=table("shown-counts"),
        engaged=table("engaged-counts"),
        requests=table("requests"),
        users=table("users"),
        items=table("item-state"),
        stats=stats,
        index=index,
    )

    async def dead_letter(dl: DeadLetter) -> None:
        stats.dead_letters += 1
        log.warning("dead letter %s[%d]@%d: %s", dl.topic, dl.partition, dl.offset, dl.reason)
        await deadletter.send(key=dl.key, value=dl.value, headers=dl.headers())

    def fold(tbl: Any, deltas: dict[str, int], offset: int) -> None:
        for key, delta in deltas.items():
            nxt = apply_tally(Tally.from_json(tbl.get(key)), delta, offset)
            if nxt is None:
                stats.skipped_replays += 1
            else:
                tbl[key] = nxt.to_json()

    async def send_derived(out: list[Any], staged: Overlay) -> None:
        """Send, await Kafka's acks, then persist the state (see ``streams.overlay``).

        ``force=True`` bypasses Faust's attachments, which would hold the records
        back until the input offset is committed — after the changelog write.
        """
        futures = []
        for msg in out:
            target = engagements if isinstance(msg, EngagementMsg) else item_updates
            futures.append(await target.send(key=msg.key.encode(), value=msg.encode(), force=True))
        for fut in futures:
            await fut
        staged.commit()

    async def decoded(stream: Any) -> AsyncIterator[tuple[Any, Any]]:
        async for ev in stream.events():
            msg = ev.message
            stats.saw(msg.topic)
            if msg.topic == TICKS_TOPIC:
                yield msg, orjson.loads(msg.value)
                continue
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
                continue
            yield msg, result

    request_topics = _raw_topic(
        app, topics.EXPOSURES, topics.OUTCOMES, TICKS_TOPIC, partitions=partitions
    )

    @app.agent(request_topics, name="requests")
    async def requests_agent(stream: Any) -> None:
        async for msg, event in decoded(stream):
            p, o = msg.partition, msg.offset
            staged = Overlay(t.requests)
            if isinstance(event, Exposure):
                fold(t.shown, shown_deltas(p, event), o)
                out = request_stage.on_exposure(staged, p, o, event)
            elif isinstance(event, Outcome):
                fold(t.engaged, engaged_deltas(p, event), o)
                out = request_stage.on_outcome(staged, p, o, event, int(time.time() * 1000))
            else:
                out = request_stage.on_tick(staged, p, o, int(event["now_ms"]))
            await send_derived(out, staged)

    @app.agent(engagements, name="users")
    async def users_agent(stream: Any) -> None:
        async for ev in stream.events():
            msg = ev.message
            eng = decode(msg.value)
            if not isinstance(eng, EngagementMsg):
                continue
            staged = Overlay(t.users)
            out = user_stage(staged, msg.partition, msg.offset, eng, config)
            await send_derived(out, staged)
            a = eng.attributed
            state = UserState.from_json(t.users.get(join_key(a.tenant, a.user_id)))
            index.set_history(a.tenant, a.user_id, state.recent)

    @app.agent(item_updates, name="items-state")
    async def items_agent(stream: Any) -> None:
        async for ev in stream.events():
            msg = ev.message
            upd = decode(msg.value)
            if not isinstance(upd, PopularityMsg | PairMsg):
                continue
            change = item_stage(t.items, msg.partition, msg.offset, upd, config)
            if change is None:
                stats.skipped_replays += 1
            elif change.kind == "pop":
                v = t.items[join_key("p", change.tenant, change.surface, change.item_id)]
                index.set_score(
                    change.tenant,
                    change.surface,
                    msg.partition,
                    change.item_id,
                    Decayed(v[0], v[1]),
                )
            elif isinstance(upd, PairMsg):
                v = t.items[join_key("c", upd.tenant, upd.surface, upd.anchor, upd.neighbour)]
                index.set_count(upd.tenant, upd.surface, upd.anchor, upd.neighbour, v[0])

    # Assignments and items are decoded and dead-lettered here; the live join and the
    # catalog readers consume the topics themselves.
    @app.agent(_raw_topic(app, topics.ASSIGNMENTS, partitions=partitions), name="assignments")
    async def assignments_agent(stream: Any) -> None:
        async for _ in decoded(stream):
            pass

    @app.agent(_raw_topic(app, topics.ITEMS, partitions=partitions), name="catalog")
    async def catalog_agent(stream: Any) -> None:
        async for _ in decoded(stream):
            pass

    @app.timer(config.publish_interval_s)
    async def publish_views() -> None:
        pops, covis, hist = index.drain()
        for key in pops:
            value = encode_popularity(index.half_life_ms, index.popularity_snapshot(key))
            await views[POPULARITY_VIEW].send(key=view_key(*key), value=value)
            stats.published += 1
        for ckey in covis:
            value = encode_neighbours(index.neighbour_snapshot(ckey))
            await views[COVISITATION_VIEW].send(key=view_key(*ckey), value=value)
            stats.published += 1
        for hkey in hist:
            value = encode_history(index.history.get(hkey, ()))
            await views[HISTORY_VIEW].send(key=view_key(*hkey), value=value)
            stats.published += 1

    @app.timer(TICK_INTERVAL_S)
    async def send_ticks() -> None:
        """Wake each owned request partition so outcomes past the grace are released."""
        now_ms = int(time.time() * 1000)
        owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topics.EXPOSURES}
        for p in sorted(owned):
            await ticks.send(value=orjson.dumps({"now_ms": now_ms}), partition=p)

    @t.items.on_recover
    async def rebuild_items_index() -> None:
        index.popularity.clear()
        index.covisitation.clear()
        for key, value in list(t.items.items()):
            parsed = parse_item_key(key)
            if parsed is None:
                continue
            kind, parts = parsed
            if kind == "p":
                tenant, surface, item = parts
                p = partition_for(join_key(tenant, surface, item), partitions)
                index.set_score(tenant, surface, p, item, Decayed(value[0], value[1]))
            else:
                tenant, surface, anchor, nb = parts
                index.set_count(tenant, surface, anchor, nb, value[0])

    @t.users.on_recover
    async def rebuild_history_index() -> None:
        index.history.clear()
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
