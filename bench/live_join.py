"""Live-join throughput and end-to-end lag, against a no-op Faust agent in the same run.

    .venv/bin/python -m bench.live_join [--requests 6000] [--rate 2000] [--seconds 10]

(run as a module: a script run puts bench/ first on sys.path, where bench/serving.py
shadows the serving package)

On one embedded broker with the same prefilled exposure+outcome topics (8 partitions):
  (1) a no-op Faust agent's events/s (``bench/stream_state.py``'s),
  (2) a worker running only the live join: events/s through it, and the ratio to (1);
then at a steady offered rate, the lag from producing an outcome to the live view
(``LiveReader``) counting it: the n-th outcome produced is counted when the merged
view's outcome total reaches n (counts are monotone). Targets: (2) ≥ 60 % of (1),
lag p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from pathlib import Path

from app.broker import EmbeddedBroker, free_port
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import merge_by_time, replay
from app.settings import Settings
from app.synthetic import generate
from bench.stream_state import noop_faust, pct, settings_for, wait_count
from schemas.codec import AvroCodec
from schemas.events import Outcome
from schemas.registry import LocalRegistry
from serving.live_reader import LiveReader
from streams.live.config import LiveConfig
from streams.live_agents import LiveTables, register_live_agents


async def live_worker(settings: Settings) -> tuple[object, LiveTables]:
    fapp = make_faust_app(settings)
    tables = register_live_agents(
        fapp, AvroCodec(LocalRegistry()), partitions=settings.partitions, config=LiveConfig()
    )
    await fapp.start()
    return fapp, tables


async def join_rate(settings: Settings, total: int) -> float:
    fapp, tables = await live_worker(settings)
    try:
        secs = await wait_count(lambda: tables.processed, total)
    finally:
        await fapp.stop()  # type: ignore[attr-defined]
    return total / secs


async def lag(settings: Settings, bootstrap: str, rate: float, seconds: float) -> list[float]:
    log = generate(
        requests=int(rate * seconds / 1.2),
        users=400,
        catalog=500,
        seed=9,
        start_ms=1_800_000_000_000,
        orphan_rate=0.0,
        duplicate_rate=0.0,
    )
    events = merge_by_time([log.exposures, log.outcomes])
    fapp, _ = await live_worker(settings)
    reader = LiveReader(bootstrap)
    await reader.start()
    while not reader.ready():
        await asyncio.sleep(0.05)
    base = reader.overview()["totals"]["outcomes"]
    sent: list[float] = []
    lags: list[float] = []

    async def watch() -> None:
        done = 0
        while True:
            counted = reader.overview()["totals"]["outcomes"] - base
            now = time.perf_counter()
            while done < min(counted, len(sent)):
                lags.append(now - sent[done])
                done += 1
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())

    def paced() -> object:
        for e in events:
            if isinstance(e, Outcome):
                sent.append(time.perf_counter())
            yield e

    try:
        await replay(paced(), bootstrap, registry=LocalRegistry(), rate=rate)  # type: ignore[arg-type]
        deadline = time.perf_counter() + 20
        while len(lags) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
        await reader.stop()
        await fapp.stop()  # type: ignore[attr-defined]
    return lags


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
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
            print(f"prefilled {total} events on {s0.partitions} partitions")
            noop = await noop_faust(settings_for(broker, data), total)
            print(f"(1) no-op Faust agent : {noop:10,.0f} events/s")
            live = await join_rate(settings_for(broker, data), total)
            print(f"(2) live join worker  : {live:10,.0f} events/s  ({live / noop:.1%} of (1))")
            s1 = settings_for(broker, data).replace(app_id=f"lag-{uuid.uuid4().hex[:6]}")
            lags = await lag(s1, broker.bootstrap, args.rate, args.seconds)
            print(
                f"lag at {args.rate:,.0f} events/s for {args.seconds:.0f}s, outcome produced → "
                f"counted in the live view: p50 {pct(lags, 0.5) * 1000:.0f} ms, "
                f"p95 {pct(lags, 0.95) * 1000:.0f} ms (n={len(lags)})"
            )
    finally:
        broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
