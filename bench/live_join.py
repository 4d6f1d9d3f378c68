"""Live-join throughput and end-to-end lag, against a no-op Faust agent in the same run.

    .venv/bin/python -m bench.live_join [--requests 6000] [--rate 2000] [--seconds 10] [--rounds 2]

(run as a module: a script run puts bench/ first on sys.path, where bench/serving.py
shadows the serving package)

On one embedded broker with the same prefilled exposure+outcome topics (8 partitions):
  (1) a no-op Faust agent's events/s (``bench/stream_state.py``'s), records delivered as
      Faust ships it; (1') the same on our workers' consumer (eager delivery, ``app.eager``),
  (2) a worker running only the live join: events/s through it, and the ratios to (1), (1')
      (``--rounds`` alternating rounds of each, every round printed, the best of each
      compared: a single 5-second round moves by ±5 % with the machine's other load);
then at a steady offered rate — produced from a child process (``bench.paced``), as
production producers are — the lag from producing an outcome to the live view
(``LiveReader``, in the bench's process beside the worker) counting it: the n-th
outcome produced is counted when the merged view's outcome total reaches n (counts are
monotone). Then the CPU per live event of that worker (this process) and of a no-op
Faust agent under the same paced traffic: what Faust's own path costs per event while
traffic is live, next to what the join costs. With ``--lag-workers N`` the lag is
measured a second time with N worker processes in one consumer group, as production
scales the live join out (it is partition-local); on this 2-core machine the workers,
the producer and the broker share the two cores, so it shows no gain here.
Targets: (2) ≥ 60 % of (1), lag p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import resource
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.broker import EmbeddedBroker, free_port
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import merge_by_time, replay
from app.settings import Settings
from app.synthetic import generate
from bench.paced import PacedLog, run_paced
from bench.stream_state import (
    INPUT,
    noop_app,
    noop_faust,
    pct,
    settings_for,
    stop_bounded,
    wait_count,
)
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


def _worker_child(settings: Settings, pipe: Any) -> None:
    """A live-join worker process: reports how many partitions it holds whenever that
    changes (so the pipe never fills), and stops when the parent sends on ``pipe``."""
    logging.basicConfig(level=logging.WARNING)
    for name in ("faust", "mode", "aiokafka"):
        logging.getLogger(name).setLevel(logging.ERROR)

    async def run() -> None:
        fapp, tables = await live_worker(settings)
        sent = -1
        while not pipe.poll():
            if len(tables.join.partitions) != sent:
                sent = len(tables.join.partitions)
                pipe.send(sent)
            await asyncio.sleep(0.2)
        await stop_bounded(fapp)

    asyncio.run(run())


async def settled(pipes: list[Any], partitions: int, hold_s: float = 3.0) -> None:
    """Until every worker holds some partitions, together all of them, for ``hold_s``
    (the group's rebalances are over before the traffic starts)."""
    held = [0] * len(pipes)
    since: float | None = None
    while True:
        for i, pipe in enumerate(pipes):
            while pipe.poll():
                held[i] = pipe.recv()
        if all(held) and sum(held) == partitions:
            since = since or time.monotonic()
            if time.monotonic() - since >= hold_s:
                return
        else:
            since = None
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def worker_processes(settings: Settings, n: int) -> AsyncIterator[None]:
    """``n`` live-join workers in child processes, one consumer group, settled."""
    ctx = multiprocessing.get_context("spawn")
    procs, pipes = [], []
    for _ in range(n):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_child, args=(settings, child), daemon=True)
        proc.start()
        procs.append(proc)
        pipes.append(parent)
    try:
        await asyncio.wait_for(settled(pipes, settings.partitions), 120)
        yield
    finally:
        for pipe in pipes:
            pipe.send("stop")
        loop = asyncio.get_running_loop()
        for proc in procs:
            await loop.run_in_executor(None, proc.join, 60)
            if proc.is_alive():
                print("warning: a worker process did not stop within 60s", flush=True)
                proc.kill()


@dataclass
class CpuMeter:
    """This process's CPU per event over the seconds it was processing them."""

    processed: Callable[[], int]
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(CPU seconds, events processed)."""

    def sample(self) -> None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        self.samples.append((r.ru_utime + r.ru_stime, self.processed()))

    def per_event(self) -> float:
        """From the last sample before the first event to the first with the final count
        (the idle seconds around the traffic are left out); NaN without events."""
        if not self.samples:
            return float("nan")
        first, final = self.samples[0][1], self.samples[-1][1]
        c0 = max(c for c, n in self.samples if n == first)
        c1 = min(c for c, n in self.samples if n == final)
        return (c1 - c0) / (final - first) if final > first else float("nan")


async def lag(
    settings: Settings, bootstrap: str, rate: float, seconds: float, workers: int = 0
) -> tuple[list[float], float]:
    """Outcome produced (by a producer in a child process) → counted in the live view;
    ``workers`` 0: one worker in this process (and its CPU per event), else that many
    worker processes (CPU per event NaN)."""
    meter: CpuMeter | None = None
    async with contextlib.AsyncExitStack() as stack:
        reader = LiveReader(bootstrap)
        if workers:
            await stack.enter_async_context(worker_processes(settings, workers))
            await reader.start()
            while not reader.ready() or len(reader.snapshots) < settings.partitions:
                await asyncio.sleep(0.05)
        else:
            fapp, tables = await live_worker(settings)
            stack.push_async_callback(stop_bounded, fapp)
            await reader.start()
            # Traffic starts once the worker consumes every partition (its own
            # wall-clock ticks reached them all), not before.
            while not reader.ready() or len(tables.join.partitions) < settings.partitions:
                await asyncio.sleep(0.05)
            meter = CpuMeter(lambda: tables.processed)
        stack.push_async_callback(reader.stop)
        lags = await _measure(reader, bootstrap, rate, seconds, meter)
    return lags, meter.per_event() if meter else float("nan")


async def noop_cpu(settings: Settings, bootstrap: str, rate: float, seconds: float) -> float:
    """CPU per event of a no-op Faust agent (in this process) under the same paced
    traffic as the lag phase: Faust's own per-event cost on live traffic."""
    fapp, processed = noop_app(settings)  # eager delivery, as the live worker's
    await fapp.start()
    meter = CpuMeter(processed)
    try:
        while len(fapp.consumer.assignment()) < len(INPUT) * settings.partitions:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)

        async def sampling() -> None:
            while True:
                meter.sample()
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sampling())
        try:
            await run_paced(PacedLog(requests=int(rate * seconds / 1.2)), bootstrap, rate)
            last, still = -1, 0.0
            while still < 1.0:  # until the count has not moved for a second
                await asyncio.sleep(0.1)
                still = still + 0.1 if processed() == last else 0.0
                last = processed()
        finally:
            sampler.cancel()
    finally:
        await stop_bounded(fapp)
    return meter.per_event()


async def _measure(
    reader: LiveReader, bootstrap: str, rate: float, seconds: float, meter: CpuMeter | None
) -> list[float]:
    spec = PacedLog(requests=int(rate * seconds / 1.2))
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
            if meter is not None:
                meter.sample()
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        sent = await run_paced(spec, bootstrap, rate)
        deadline = time.monotonic() + 20
        while (not samples or samples[-1][1] < len(sent)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
    return lags_from([s[0] for s in sent], samples)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rounds", type=int, default=2,
        help="alternating throughput rounds of (1) and (2); the best of each is compared, "
             "as bench/serving.py does (least disturbed by other load on the machine)",
    )
    parser.add_argument(
        "--lag-workers", type=int, default=0,
        help="also measure the lag with this many worker processes (default 0: skip)",
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
            print(f"prefilled {total} events on {s0.partitions} partitions")
            stocks: list[float] = []
            noops: list[float] = []
            lives: list[float] = []
            for n in range(1, args.rounds + 1):  # alternating: all see the same machine
                stocks.append(await noop_faust(settings_for(broker, data), total, eager=False))
                noops.append(await noop_faust(settings_for(broker, data), total))
                lives.append(await join_rate(settings_for(broker, data), total))
                print(f"round {n}: (1) {stocks[-1]:,.0f} events/s, (1') {noops[-1]:,.0f}, "
                      f"(2) {lives[-1]:,.0f} ({lives[-1] / stocks[-1]:.1%} of (1), "
                      f"{lives[-1] / noops[-1]:.1%} of (1'))", flush=True)
            stock, noop, live = max(stocks), max(noops), max(lives)
            print(f"(1) no-op Faust agent, Faust's delivery : {stock:10,.0f} events/s  (best)")
            print(f"(1') no-op Faust agent, eager delivery  : {noop:10,.0f} events/s  (best)")
            print(f"(2) live join worker                   : {live:10,.0f} events/s  "
                  f"({live / stock:.1%} of (1), {live / noop:.1%} of (1'); best round of each)")
        # Each lag phase gets a broker of its own: on the first one a new group would
        # replay the prefill first, and the prefill's event times (a year before the
        # paced log's) would retire every request it made at the first paced record.
        broker.stop()
        for workers in [0, args.lag_workers] if args.lag_workers else [0]:
            broker = EmbeddedBroker(free_port())
            broker.start()
            with tempfile.TemporaryDirectory() as tmp:
                s1 = settings_for(broker, Path(tmp)).replace(app_id=f"lag-{uuid.uuid4().hex[:6]}")
                await ensure_topics(broker.bootstrap, s1.partitions)
                lags, cpu = await lag(s1, broker.bootstrap, args.rate, args.seconds, workers)
                where = f"{workers} worker processes" if workers else "one worker"
                print(
                    f"lag at {args.rate:,.0f} events/s for {args.seconds:.0f}s, {where}, "
                    f"outcome produced → counted in the live view: "
                    f"p50 {pct(lags, 0.5) * 1000:.0f} ms, p95 {pct(lags, 0.95) * 1000:.0f} ms "
                    f"(n={len(lags)})",
                    flush=True,
                )
            broker.stop()
            if not workers:
                broker = EmbeddedBroker(free_port())
                broker.start()
                with tempfile.TemporaryDirectory() as tmp:
                    s2 = settings_for(broker, Path(tmp))
                    await ensure_topics(broker.bootstrap, s2.partitions)
                    noop = await noop_cpu(s2, broker.bootstrap, args.rate, args.seconds)
                print(
                    f"CPU per live event at {args.rate:,.0f} events/s (this process, over the "
                    f"seconds it was processing): live join worker {cpu * 1e6:.0f} µs, no-op "
                    f"Faust agent under the same traffic {noop * 1e6:.0f} µs "
                    f"(one core = {1e6 / args.rate:.0f} µs per event at this rate)",
                    flush=True,
                )
                broker.stop()
    finally:
        broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
