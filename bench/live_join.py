"""Live-join throughput and end-to-end lag, against a no-op Faust agent in the same run.

    .venv/bin/python -m bench.live_join [--requests 6000] [--rate 2000] [--seconds 10]

(run as a module: a script run puts bench/ first on sys.path, where bench/serving.py
shadows the serving package)

On one embedded broker with the same prefilled exposure+outcome topics (8 partitions):
  (1) a no-op Faust agent's events/s (``bench/stream_state.py``'s),
  (2) a worker running only the live join: events/s through it, and the ratio to (1);
then at a steady offered rate — produced from a child process (``bench.paced``), as
production producers are — the lag from producing an outcome to the live view
(``LiveReader``, in the bench's process beside the worker) counting it: the n-th
outcome produced is counted when the merged view's outcome total reaches n (counts are
monotone). Targets: (2) ≥ 60 % of (1),
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
from bench.paced import PacedLog, run_paced
from bench.stream_state import noop_faust, pct, settings_for, stop_bounded, wait_count
from schemas.codec import AvroCodec
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
        await stop_bounded(fapp)
    return total / secs


def lags_from(sent: list[float], samples: list[tuple[float, int]]) -> list[float]:
    """The n-th send's lag: the first sample whose count reached n, minus its send time.
    ``samples`` are (monotonic time, count) in time order, counts non-decreasing."""
    lags: list[float] = []
    i = 0
    for n, t_sent in enumerate(sent, start=1):
        while i < len(samples) and samples[i][1] < n:
            i += 1
        if i == len(samples):
            break
        lags.append(samples[i][0] - t_sent)
    return lags


async def lag(
    settings: Settings, bootstrap: str, rate: float, seconds: float, backlog: int
) -> list[float]:
    """Outcome produced (by a producer in a child process) → counted in the live view."""
    spec = PacedLog(requests=int(rate * seconds / 1.2))
    fapp, tables = await live_worker(settings)
    reader = LiveReader(bootstrap)
    await reader.start()
    # Traffic starts once the worker consumes every partition (its own wall-clock ticks
    # reached them all) and has caught up with what the topics already hold (a new
    # group reads from the start: the throughput phase's prefill), not before: that
    # backlog would be start-up time, not the pipeline's lag.
    while (
        not reader.ready()
        or len(tables.join.partitions) < settings.partitions
        or tables.processed < backlog
    ):
        await asyncio.sleep(0.05)
    base = reader.overview()["totals"]["outcomes"]
    samples: list[tuple[float, int]] = []

    async def watch() -> None:
        # the merged view is cached until the next snapshot arrives: recount only then,
        # so the watcher costs the worker beside it next to nothing
        last, count = None, 0
        while True:
            merged = reader.merged()
            if merged is not last:
                last, count = merged, reader.overview()["totals"]["outcomes"] - base
            samples.append((time.monotonic(), count))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        sent = await run_paced(spec, bootstrap, rate)
        deadline = time.monotonic() + 20
        while (not samples or samples[-1][1] < len(sent)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
        await reader.stop()
        await stop_bounded(fapp)
    return lags_from([s[0] for s in sent], samples)


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
        # The lag phase gets a broker of its own: on the first one a new group would
        # replay the prefill first, and the prefill's event times (a year before the
        # paced log's) would retire every request it made at the first paced record.
        broker.stop()
        broker = EmbeddedBroker(free_port())
        broker.start()
        with tempfile.TemporaryDirectory() as tmp:
            s1 = settings_for(broker, Path(tmp)).replace(app_id=f"lag-{uuid.uuid4().hex[:6]}")
            await ensure_topics(broker.bootstrap, s1.partitions)
            lags = await lag(s1, broker.bootstrap, args.rate, args.seconds, 0)
            print(
                f"lag at {args.rate:,.0f} events/s for {args.seconds:.0f}s, outcome produced → "
                f"counted in the live view: p50 {pct(lags, 0.5) * 1000:.0f} ms, "
                f"p95 {pct(lags, 0.95) * 1000:.0f} ms (n={len(lags)})"
            )
    finally:
        broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
