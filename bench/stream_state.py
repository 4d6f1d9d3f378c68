"""Stream-state throughput, freshness and memory, against baselines measured in the same run.

    .venv/bin/python bench/stream_state.py [--requests 6000] [--fresh-seconds 15]

Prints, on one embedded broker, for the same prefilled exposure+outcome topics:
  (1) a plain aiokafka consume-and-count loop (the machine's ceiling for one core),
  (2) a no-op Faust agent (Faust's own ceiling),
  (3) our worker (decode, attribution, popularity, history, co-visitation, views):
      input events/s through the request stage and through the whole pipeline,
      and the ratio to (2);
then freshness (outcome produced → visible in a ViewReader) at a steady 2,000 events/s,
and bytes of state per co-visitation pair (item-stage table, as the memory store holds it).
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
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from app.broker import EmbeddedBroker, free_port
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import merge_by_time, replay
from app.runtime import start_worker, state_config
from app.settings import Settings
from app.synthetic import generate
from schemas import topics
from schemas.events import Exposure, Outcome
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
from streams.dedupe import Stamp
from streams.messages import PairMsg
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


async def noop_faust(settings: Settings, total: int) -> float:
    app = make_faust_app(settings)
    count = {"n": 0}
    topic = app.topic(
        *INPUT, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(topic)
    async def noop(stream):  # type: ignore[no-untyped-def]
        async for _ in stream.events():
            count["n"] += 1

    await app.start()
    try:
        secs = await wait_count(lambda: count["n"], total)
    finally:
        await app.stop()
    return total / secs


async def our_worker(settings: Settings, total: int, derived_min: int) -> tuple[float, float]:
    fapp, tables = await start_worker(settings)
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
        await fapp.stop()
    return total / request_secs, total / max(pipeline_secs, 1e-9)


async def freshness(
    settings: Settings, broker: EmbeddedBroker, rate: float, seconds: float, seed: int
) -> list[float]:
    log = generate(
        requests=int(rate * seconds / 1.2),
        users=400,
        catalog=500,
        seed=seed,
        start_ms=1_800_000_000_000,
        orphan_rate=0.0,
        duplicate_rate=0.0,
    )
    events = merge_by_time([log.exposures, log.outcomes])
    fapp, _ = await start_worker(settings)
    reader = ViewReader(broker.bootstrap)
    await reader.start()
    sent_at: dict[tuple[str, str, int], float] = {}
    latencies: list[float] = []

    async def watch() -> None:
        while True:
            for (user, item, ts), t_sent in list(sent_at.items()):
                recent = reader.history.get(("t1", user), [])
                if any(i == item and t >= ts for i, t in recent):
                    latencies.append(time.perf_counter() - t_sent)
                    del sent_at[(user, item, ts)]
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())

    def paced() -> object:
        for e in events:
            if isinstance(e, Outcome):
                sent_at[(e.user_id, e.item_id, e.timestamp_ms)] = time.perf_counter()
            yield e

    try:
        await replay(paced(), broker.bootstrap, registry=LocalRegistry(), rate=rate)  # type: ignore[arg-type]
        deadline = time.perf_counter() + 20
        while sent_at and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
        await reader.stop()
        await fapp.stop()
    return latencies


def bytes_per_pair(pairs: int) -> float:
    config = state_config(Settings())
    table: dict[str, object] = {}
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    n = 0
    for k in range(pairs):
        a, b = f"item-{k % 2000:05d}", f"item-{(k * 7919) % 100_000:06d}"
        item_stage(table, 0, n, PairMsg("t1", "home", a, b, Stamp("user", k % 8, k, 0)), config)
        n += 1
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / pairs


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--fresh-rate", type=float, default=2000.0)
    parser.add_argument("--fresh-seconds", type=float, default=15.0)
    parser.add_argument("--pairs", type=int, default=200_000)
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
            noop = await noop_faust(settings_for(broker, data), total)
            print(
                f"(2) no-op Faust agent            : {noop:10,.0f} events/s  "
                f"({noop / plain:.1%} of (1))"
            )
            req, pipe = await our_worker(settings_for(broker, data), total, 0)
            print(
                f"(3) our worker, request stage    : {req:10,.0f} events/s  "
                f"({req / noop:.1%} of (2))"
            )
            print(
                f"    our worker, whole pipeline   : {pipe:10,.0f} events/s  "
                f"({pipe / noop:.1%} of (2))"
            )

            lat = await freshness(
                settings_for(broker, data), broker, args.fresh_rate, args.fresh_seconds, seed=9
            )
            print(
                f"freshness at {args.fresh_rate:,.0f} events/s, outcome produced → in view: "
                f"p50 {pct(lat, 0.5) * 1000:.0f} ms, p95 {pct(lat, 0.95) * 1000:.0f} ms, "
                f"p99 {pct(lat, 0.99) * 1000:.0f} ms (n={len(lat)})"
            )
    finally:
        broker.stop()
    print(
        f"memory: {bytes_per_pair(args.pairs):.0f} bytes per co-visitation pair "
        f"(item-stage table as the memory store holds it, {args.pairs:,} pairs)"
    )


if __name__ == "__main__":
    asyncio.run(main())
