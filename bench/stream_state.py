"""Stream-state throughput, freshness and memory, against baselines measured in the same run.

    .venv/bin/python -m bench.stream_state [--requests 30000] [--fresh-seconds 15]

Prints, on one embedded broker, for the same prefilled exposure+outcome topics:
  (1) a plain aiokafka consume-and-count loop (the machine's ceiling for one core),
  (2) a no-op Faust agent (Faust's own ceiling, records delivered as Faust ships it),
  (2') the same agent on our workers' consumer, whose eager delivery (``app.eager``)
      skips Faust's four tasks per record, and (2'') a no-op task taking the records a
      batch at a time from a ``BatchTopic``, as our stages do (the ceiling of that path),
  (3) the stream-state agents (decode, attribution, popularity, history, co-visitation,
      views): input events/s through the request stage and through the whole pipeline,
      and the ratios to (2) and (2'); (3') the full ``recsys worker``, which also runs the live
      join over the same records (that agent alone: ``bench/live_join.py``);
then freshness (outcome produced by a child process → visible in a ViewReader's history
view) at a steady 2,000 events/s for a worker running the stream-state agents, and bytes
of state per co-visitation pair (the item table's ``PairMap``, which the views are also
published from), against the dict layout it replaced, on a 10,000-item catalog and on a
worst case where no two pairs share an item string.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from app.broker import EmbeddedBroker, free_port
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import merge_by_time, replay
from app.runtime import start_worker, state_config
from app.settings import Settings
from app.synthetic import generate
from bench.paced import PacedLog, Sent, run_paced
from schemas import topics
from schemas.codec import AvroCodec
from schemas.events import Exposure
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
from streams.agents import TICKS_TOPIC, register_agents
from streams.batch_topic import BatchTopic
from streams.dedupe import Stamp
from streams.keys import join_key
from streams.messages import PairMsg
from streams.overlay import Overlay
from streams.pair_store import PairMap
from streams.stages import item_stage

INPUT = (topics.EXPOSURES, topics.OUTCOMES)


def settings_for(broker: EmbeddedBroker, data: Path) -> Settings:
    return Settings(
        kafka_bootstrap=broker.bootstrap,
        partitions=8,
        data_dir=data,
        app_id=f"bench-{uuid.uuid4().hex[:6]}",
        grace_s=86_400.0,
        grace_wall_s=30.0,
    )


async def plain_consume(bootstrap: str, total: int) -> float:
    consumer = AIOKafkaConsumer(
        *INPUT,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen, start = 0, time.perf_counter()
    try:
        while seen < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return total / (time.perf_counter() - start)


async def wait_count(get: object, total: int, timeout_s: float = 600) -> float:
    """Seconds from the first counted event until ``get()`` reaches ``total``."""
    start = None
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        n = get()  # type: ignore[operator]
        if n and start is None:
            start = time.perf_counter()
        if n >= total:
            return time.perf_counter() - (start or time.perf_counter())
        await asyncio.sleep(0.01)
    raise TimeoutError(f"only {get()} of {total} events processed")  # type: ignore[operator]


def noop_app(settings: Settings, *, eager: bool = True) -> tuple[Any, Callable[[], int]]:
    """A Faust app (not started) whose one agent only counts the input events, and its
    count: Faust's own per-event path with nothing on top. ``eager``: the records reach
    the agent through our consumer's eager delivery (``app.eager``), as in our workers;
    else through Faust's own per-record race, as Faust ships."""
    app = make_faust_app(settings)
    app.consumer.eager_delivery = eager
    count = {"n": 0}
    topic = app.topic(
        *INPUT, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(topic)
    async def noop(stream):  # type: ignore[no-untyped-def]
        async for _ in stream.events():
            count["n"] += 1

    return app, lambda: count["n"]


def noop_batch_app(settings: Settings) -> tuple[Any, Callable[[], int]]:
    """A Faust app (not started) whose one task only counts the input records, taken a
    batch at a time from a ``BatchTopic`` as our workers take theirs: the ceiling of that
    path inside Faust (eager delivery, no per-record stream)."""
    app = make_faust_app(settings)
    count = {"n": 0}
    source = BatchTopic(app, *INPUT, partitions=settings.partitions)

    @app.task  # type: ignore[untyped-decorator]
    async def noop() -> None:
        async for batch in source.batches(2000):
            count["n"] += len(batch)

    return app, lambda: count["n"]


async def noop_faust(
    settings: Settings, total: int, *, eager: bool = True, batch: bool = False
) -> float:
    app, processed = noop_batch_app(settings) if batch else noop_app(settings, eager=eager)
    await app.start()
    try:
        secs = await wait_count(processed, total)
    finally:
        await stop_bounded(app)
    return total / secs


async def start_state_worker(settings: Settings, *, live: bool) -> tuple[Any, Any]:
    """``live``: the full ``recsys worker`` (state agents + live join, as ``start_worker``);
    else the stream-state agents only."""
    if live:
        return await start_worker(settings)
    await ensure_topics(settings.bootstrap, settings.partitions)
    fapp = make_faust_app(settings)
    tables = register_agents(
        fapp, AvroCodec(LocalRegistry()), partitions=settings.partitions,
        config=state_config(settings),
    )
    await fapp.start()
    return fapp, tables


async def our_worker(settings: Settings, total: int, *, live: bool) -> tuple[float, float]:
    fapp, tables = await start_state_worker(settings, live=live)
    stats = tables.stats
    try:
        request_secs = await wait_count(
            lambda: sum(stats.processed.get(t, 0) for t in INPUT), total
        )
        t0 = time.perf_counter()
        # The pipeline is drained when the item stage stops moving for a while.
        last, still = -1, 0.0
        while still < 1.0:
            await asyncio.sleep(0.1)
            now = len(tables.items) if hasattr(tables.items, "__len__") else 0
            still = still + 0.1 if now == last else 0.0
            last = now
        pipeline_secs = request_secs + (time.perf_counter() - t0 - 1.0)
    finally:
        await stop_bounded(fapp)
    return total / request_secs, total / max(pipeline_secs, 1e-9)


async def stop_bounded(fapp: Any, budget_s: float = 60.0) -> None:
    """Stop a Faust app, but never hang the bench on it (reported, not hidden)."""
    try:
        await asyncio.wait_for(fapp.stop(), budget_s)
    except TimeoutError:
        print(f"warning: the worker did not stop within {budget_s:.0f}s", flush=True)


async def freshness(
    settings: Settings,
    broker: EmbeddedBroker,
    rate: float,
    seconds: float,
    seed: int,
    backlog: int,
) -> list[float]:
    """Outcome produced (from a child process, ``bench.paced``) → in a ``ViewReader``'s
    history view, for a worker running the stream-state agents."""
    spec = PacedLog(requests=int(rate * seconds / 1.2), seed=seed)
    fapp, tables = await start_state_worker(settings, live=False)
    reader = ViewReader(broker.bootstrap)
    await reader.start()
    # Traffic starts once the worker consumes (its wall-clock ticks reached every
    # partition) and has caught up with what the topics already hold (a new group reads
    # from the start: the throughput phase's prefill), not before: that backlog would be
    # start-up time.
    stats = tables.stats
    while (
        stats.processed.get(TICKS_TOPIC, 0) < settings.partitions
        or sum(stats.processed.get(t, 0) for t in INPUT) < backlog
    ):
        await asyncio.sleep(0.05)
    # per user, (monotonic time, newest engagement time in the view) whenever it grew: a
    # history keeps only the last few items, so an outcome counts as visible once its
    # user's history reached its time (it, or a later engagement, is in the view)
    progress: dict[str, list[tuple[float, int]]] = {}

    async def watch() -> None:
        # The reader replaces a user's list when a new history arrives: look inside only
        # the lists that changed (a full scan every 10 ms took a core's 10-20 % from the
        # worker beside it at 400 users).
        seen: dict[tuple[str, str], object] = {}
        while True:
            now = time.monotonic()
            for key, recent in list(reader.history.items()):
                if seen.get(key) is recent:
                    continue
                seen[key] = recent
                user = key[1]
                if recent:
                    newest = max(t for _, t in recent)
                    steps = progress.setdefault(user, [])
                    if not steps or newest > steps[-1][1]:
                        steps.append((now, newest))
            await asyncio.sleep(0.01)

    def visible_at(user: str, ts: int) -> float | None:
        return next((when for when, newest in progress.get(user, ()) if newest >= ts), None)

    def counted(sent: list[Sent]) -> int:
        return sum(1 for _, u, _i, t in sent if visible_at(u, t) is not None)

    watcher = asyncio.create_task(watch())
    try:
        sent = await run_paced(spec, broker.bootstrap, rate)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and counted(sent) < len(sent):
            await asyncio.sleep(0.5)
    finally:
        watcher.cancel()
        await reader.stop()
        await stop_bounded(fapp)
    if counted(sent) < len(sent):
        print(f"    {len(sent) - counted(sent)} of {len(sent)} outcomes not visible 30 s "
              "after the last was produced")
    lags = []
    for t_sent, user, _item, ts in sent:
        when = visible_at(user, ts)
        if when is not None:
            lags.append(when - t_sent)
    return lags


@dataclass(frozen=True)
class PairMemory:
    """Bytes per distinct directed co-visitation pair held by one worker."""

    layout: str
    pairs: int  # distinct (tenant, surface, anchor, neighbour) stored
    updates: int
    total: float  # the item-stage table plus what the worker publishes neighbour lists from


def realistic_pairs(catalog: int, degree: int) -> list[tuple[str, str]]:
    """Unordered pairs among ``catalog`` items, ``degree`` neighbours per item (so
    ``catalog * degree`` directed pairs), each pair co-visited twice: the shape of the
    serving bench's 10,000 items and 200,000 pairs."""
    out = []
    for i in range(catalog):
        for s in range(1, degree // 2 + 1):
            j = (i + s * 7919) % catalog
            out.append((f"item-{i:06d}", f"item-{j:06d}"))
    return out + out


def distinct_pairs(updates: int) -> list[tuple[str, str]]:
    """Session 5's worst case: 2,000 anchors, almost every neighbour a new item (no
    string is shared between pairs), each directed pair updated twice."""
    return [(f"item-{k % 2000:05d}", f"item-{(k * 7919) % 100_000:06d}") for k in range(updates)]


def pair_memory(pairs: list[tuple[str, str]], layout: str, *, both_ways: bool) -> PairMemory:
    """Fold the pairs' messages the way the items agent does and divide the memory held
    by the distinct directed pairs stored.

    ``pairmap``: the worker's table data (``streams.pair_store.PairMap``), which the view
    index also publishes from. ``dict``: the layout before session 7, as baseline — a
    dict table (Faust's memory store) plus the index's own neighbour → count copy.
    """
    config = state_config(Settings())
    table: Any = PairMap() if layout == "pairmap" else {}
    copy: dict[tuple[str, str, str], dict[str, int]] = {}
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    updates = 0
    for k, (a0, b0) in enumerate(pairs):
        for a, b in [(a0, b0), (b0, a0)] if both_ways else [(a0, b0)]:
            # fresh strings per message, as decoding each envelope makes them
            a, b = "".join(a), "".join(b)
            msg = PairMsg("t1", "home", a, b, Stamp("user", k % 8, updates, 0))
            if layout == "pairmap":  # as the worker writes it: the store's partition too
                staged = Overlay(table)
                item_stage(staged, 0, updates, msg, config)
                for key, partition, value in staged.writes():
                    if table.is_pair(key):
                        table.set_at(key, value, partition)
                    else:
                        table[key] = value
            else:
                item_stage(table, 0, updates, msg, config)
            if layout == "dict":
                key = join_key("c", msg.tenant, msg.surface, a, b)
                copy.setdefault((msg.tenant, msg.surface, a), {})[b] = table[key][0]
            updates += 1
    total = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    stored = sum(1 for key in table if key.startswith("c"))
    return PairMemory(layout, stored, updates, total / stored)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=30_000,
        help="requests in the prefilled log (30,000: ~43,000 events, a few seconds of work "
        "for each worker; much smaller backlogs make the rates noisy)",
    )
    parser.add_argument("--fresh-rate", type=float, default=2000.0)
    parser.add_argument("--fresh-seconds", type=float, default=15.0)
    parser.add_argument("--catalog", type=int, default=10_000, help="items, memory case 1")
    parser.add_argument("--degree", type=int, default=20, help="neighbours per item, case 1")
    parser.add_argument(
        "--pairs", type=int, default=200_000, help="pair updates folded, memory case 2"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("faust", "mode", "aiokafka"):
        logging.getLogger(name).setLevel(logging.ERROR)

    broker = EmbeddedBroker(free_port())
    broker.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            log = generate(requests=args.requests, users=300, catalog=400, seed=5)
            events = merge_by_time([log.exposures, log.outcomes])
            total = len(events)
            s0 = settings_for(broker, data)
            await ensure_topics(broker.bootstrap, s0.partitions)
            await replay(events, broker.bootstrap, registry=LocalRegistry())
            n_exp = sum(isinstance(e, Exposure) for e in events)
            print(
                f"prefilled {total} events ({n_exp} exposures with 10 items, "
                f"{total - n_exp} outcomes) on 8 partitions"
            )

            plain = await plain_consume(broker.bootstrap, total)
            print(f"(1) plain aiokafka consume+count : {plain:10,.0f} events/s")
            stock = await noop_faust(settings_for(broker, data), total, eager=False)
            print(
                f"(2) no-op Faust agent, Faust's delivery : {stock:10,.0f} events/s  "
                f"({stock / plain:.1%} of (1))"
            )
            noop = await noop_faust(settings_for(broker, data), total)
            print(
                f"(2') no-op Faust agent, eager delivery  : {noop:10,.0f} events/s  "
                f"({noop / plain:.1%} of (1); our workers' consumer, app/eager.py)"
            )
            batches = await noop_faust(settings_for(broker, data), total, batch=True)
            print(
                f"(2'') no-op task on a BatchTopic     : {batches:10,.0f} events/s  "
                f"({batches / plain:.1%} of (1); our workers' input path, no stage work)"
            )
            req, pipe = await our_worker(settings_for(broker, data), total, live=False)
            full, _ = await our_worker(settings_for(broker, data), total, live=True)
            for label, rate in (
                ("(3) stream-state agents, request stage ", req),
                ("    stream-state agents, whole pipeline", pipe),
                ("(3') full worker (+ live join), request stage", full),
            ):
                print(
                    f"{label}: {rate:10,.0f} events/s  "
                    f"({rate / stock:.1%} of (2), {rate / noop:.1%} of (2'))"
                )

        # Freshness on a broker of its own: on the first one a new group would replay
        # the prefill first, and the prefill's event times (a year before the paced
        # log's) would release everything it parked at the first paced record.
        broker.stop()
        broker = EmbeddedBroker(free_port())
        broker.start()
        with tempfile.TemporaryDirectory() as tmp:
            fresh = settings_for(broker, Path(tmp))
            await ensure_topics(broker.bootstrap, fresh.partitions)
            lat = await freshness(
                fresh, broker, args.fresh_rate, args.fresh_seconds, seed=9, backlog=0
            )
            print(
                f"freshness at {args.fresh_rate:,.0f} events/s, outcome produced → in view: "
                f"p50 {pct(lat, 0.5) * 1000:.0f} ms, p95 {pct(lat, 0.95) * 1000:.0f} ms, "
                f"p99 {pct(lat, 0.99) * 1000:.0f} ms (n={len(lat)})"
            )
    finally:
        broker.stop()
    print_pair_memory(args.catalog, args.degree, args.pairs)


def print_pair_memory(catalog: int, degree: int, distinct_updates: int) -> None:
    """Bytes per co-visitation pair, the worker's layout against the dict baseline."""
    cases = [
        (f"{catalog:,} items × {degree} neighbours", realistic_pairs(catalog, degree), True),
        ("worst case, no shared item strings", distinct_pairs(distinct_updates), False),
    ]
    for label, pairs, both_ways in cases:
        base = pair_memory(pairs, "dict", both_ways=both_ways)
        ours = pair_memory(pairs, "pairmap", both_ways=both_ways)
        print(
            f"memory, {label}: {ours.total:.0f} bytes per co-visitation pair "
            f"(table + what the views are published from; {ours.pairs:,} directed pairs "
            f"from {ours.updates:,} updates); the dict layout: {base.total:.0f} "
            f"({ours.total / base.total:.0%})"
        )


if __name__ == "__main__":
    asyncio.run(main())
