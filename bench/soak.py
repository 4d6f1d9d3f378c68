"""Soak: the whole system of ``recsys up --demo`` at a fixed offered load, bounded in time.

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 40] [--sample-every 10] [--seed 7]
                                   [--drain 60]

(run as a module: a script run puts bench/ first on sys.path, where bench/serving.py
shadows the serving package)

Starts the embedded broker (in a session of its own, so that a terminal's Ctrl-C does not
kill it before the worker has drained), then one stream worker and the serving app in
this process (``app.runtime.start_stack`` with the demo's settings), on free loopback
ports with a temporary data dir, and drives them with the demo's simulated users
(``app.simulator``) at ``--rate`` requests/s for ``--minutes``; the users also produce
outcomes, the server exposures and assignments. Every ``--sample-every`` seconds one line:
events/s produced (exposures + outcomes + assignments, from the topics' fetch high-water
marks), recommend requests/s and latency p50/p99 (client side, on the simulator's own
requests, through an aiohttp trace hook on its session), the stream worker group's lag on
those topics (Σ high-water − committed), RSS and CPU of this process and of the broker.

At the end the traffic stops and the worker drains (≤ ``--drain`` s); then for each input
topic: records on the topic == consumed by the worker + dead-lettered, and the producers'
acknowledgement counters == records on the topics. Exit code 0 if nothing was lost, 1 if
something was (or could not be checked), 130 if stopped before the traffic started.
Ctrl-C stops the traffic early and still drains and checks; a second Ctrl-C cuts the
drain short. Stopping is bounded even if the broker died. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from app.broker import EmbeddedBroker, free_port
from app.demo import demo_settings
from app.runtime import Running, start_stack, stop_stack
from app.settings import Settings
from app.simulator import SimulatorSummary, run_simulator
from bench.soak_stats import (
    HEADER,
    DeliveryCheck,
    Interval,
    TopicCheck,
    consumer_lag,
    cpu_seconds_of_stat,
    cpu_share,
    machine_line,
    memtotal_bytes,
    per_second,
    percentile,
    row,
    summary_lines,
    total_lost,
    vmrss_bytes,
)
from schemas import topics
from schemas.errors import BrokerError, DeliveryError
from schemas.highwater import fetch_highwaters
from schemas.producer import EventProducer
from schemas.registry import open_registry
from serving.deps import ServingSettings
from serving.keys import DEPS
from serving.sink_kafka import KafkaEventSink
from streams.agents import StreamStats, StreamTables
from streams.deadletter import TOPIC as DLQ_TOPIC_HEADER
from streams.deadletter import parse_headers

EVENT_TOPICS = (topics.EXPOSURES, topics.OUTCOMES, topics.ASSIGNMENTS)
CHECKED_TOPICS = (*EVENT_TOPICS, topics.ITEMS)  # the catalog too: the worker decodes it
RECOMMEND_PATH = "/v1/recommend"
TICKS = os.sysconf("SC_CLK_TCK")


# -- this machine and its processes (Linux /proc) ------------------------------------
def rss(pid: int | None) -> int:
    if pid is None:
        return 0
    try:
        return vmrss_bytes(Path(f"/proc/{pid}/status").read_text()) or 0
    except OSError:
        return 0


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        return cpu_seconds_of_stat(Path(f"/proc/{pid}/stat").read_text(), TICKS)
    except OSError:
        return 0.0


def machine() -> str:
    try:
        memtotal = memtotal_bytes(Path("/proc/meminfo").read_text())
    except OSError:
        memtotal = None
    return machine_line(os.cpu_count(), memtotal, platform.python_version())


# -- client-side latency of the simulator's requests ---------------------------------
@dataclass
class LatencyLog:
    """Latencies (ms) of answered ``POST /v1/recommend`` requests, from an aiohttp trace
    hook on the simulator's session: request start → response headers (the server sends
    its JSON body with them)."""

    interval: list[float] = field(default_factory=list)
    overall: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    responses: int = 0

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._start)
        config.on_request_end.append(self._end)
        config.on_request_exception.append(self._exception)
        return config

    async def _start(self, _: aiohttp.ClientSession, ctx: SimpleNamespace,
                     params: aiohttp.TraceRequestStartParams) -> None:
        ctx.started = time.perf_counter()

    async def _end(self, _: aiohttp.ClientSession, ctx: SimpleNamespace,
                   params: aiohttp.TraceRequestEndParams) -> None:
        if params.method != "POST" or params.url.path != RECOMMEND_PATH:
            return
        self.responses += 1
        status = params.response.status
        self.statuses[status] += 1
        if status == 200:
            ms = (time.perf_counter() - ctx.started) * 1000
            self.interval.append(ms)
            self.overall.append(ms)

    async def _exception(self, _: aiohttp.ClientSession, ctx: SimpleNamespace,
                         params: aiohttp.TraceRequestExceptionParams) -> None:
        if params.url.path == RECOMMEND_PATH:
            self.errors += 1

    def take(self) -> list[float]:
        out, self.interval = self.interval, []
        return out


# -- Kafka: high-water marks, the group's committed offsets, dead letters ------------
class KafkaProbe:
    """High-water marks from fetch responses (``schemas.highwater``: ListOffsets
    under-reports on the embedded broker) and the worker group's committed offsets."""

    def __init__(self, bootstrap: str, group: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.tps = [TopicPartition(t, p) for t in CHECKED_TOPICS for p in range(partitions)]
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="recsys-soak")

    async def start(self) -> None:
        await self._admin.start()

    async def close(self) -> None:
        await self._admin.close()

    async def highwaters(self) -> dict[TopicPartition, int]:
        return await fetch_highwaters(self.bootstrap, self.tps)

    async def committed(self) -> dict[TopicPartition, int | None]:
        got = await self._admin.list_consumer_group_offsets(self.group, partitions=self.tps)
        return {tp: (got[tp].offset if tp in got else None) for tp in self.tps}

    async def sample(self) -> tuple[dict[TopicPartition, int], int]:
        """(high-water marks, lag of the group on the event topics)."""
        hws = await self.highwaters()
        committed = await self.committed()
        events = {tp: hw for tp, hw in hws.items() if tp.topic in EVENT_TOPICS}
        return hws, consumer_lag(events, committed)


def by_topic(values: dict[TopicPartition, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for tp, n in values.items():
        out[tp.topic] = out.get(tp.topic, 0) + n
    return out


def events_on(hws: dict[TopicPartition, int]) -> int:
    return sum(n for tp, n in hws.items() if tp.topic in EVENT_TOPICS)


async def dead_letters_by_source(bootstrap: str, partitions: int,
                                 timeout_s: float = 30.0) -> Counter[str]:
    """Records on the dead-letter topic, counted by their source topic header."""
    tps = [TopicPartition(topics.DEADLETTER, p) for p in range(partitions)]
    ends = await fetch_highwaters(bootstrap, tps)
    counts: Counter[str] = Counter()
    todo = {tp for tp in tps if ends[tp] > 0}
    if not todo:
        return counts
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, client_id="recsys-soak-dlq")
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout_s
        while todo and time.monotonic() < deadline:
            batch = await consumer.getmany(*todo, timeout_ms=500)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < ends[tp]:
                        source = parse_headers(list(r.headers)).get(DLQ_TOPIC_HEADER, "?")
                        counts[source] += 1
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
        if todo:
            raise RuntimeError(f"dead-letter topic not read to its end in {timeout_s:.0f}s")
    finally:
        await consumer.stop()
    return counts


# -- the broker, the stack and Ctrl-C -------------------------------------------------
@dataclass
class Control:
    """What Ctrl-C (or SIGTERM) does: before the traffic, skip it; during it, stop it
    (the drain and the checks still run); after it, cut the drain short."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    traffic: asyncio.Task[SimulatorSummary] | None = None
    unclean: bool = False
    """The worker did not stop in time (the broker died under it): exit without it."""

    def on_signal(self) -> None:
        if self.traffic is not None and not self.traffic.done():
            print("\nstopping the traffic (Ctrl-C again cuts the drain short)…", flush=True)
            self.traffic.cancel()
        elif not self.stop.is_set():
            print("\nstopping…", flush=True)
        else:
            self.abort.set()
        self.stop.set()


async def stop_quietly(running: Running, control: Control, budget_s: float = 20.0) -> None:
    """``stop_stack``, bounded even when the broker is gone: aiokafka's
    ``consumer.stop()`` then re-raises the cancellation of its own fetch task (so
    ``stop_stack`` never reaches the worker), and Faust's ``stop()`` may not end at all.
    What does not stop in time is left behind and ``control.unclean`` set."""
    started = time.monotonic()
    stopping = asyncio.ensure_future(stop_stack(running))
    done, _ = await asyncio.wait({stopping}, timeout=budget_s)
    if not done or stopping.cancelled() or stopping.exception() is not None:
        print("warning: stopping the stack failed or timed out; stopping the worker directly")
        worker = asyncio.ensure_future(running.faust_app.stop())  # type: ignore[attr-defined]
        done, _ = await asyncio.wait({worker}, timeout=5.0)
        control.unclean = not done
    print(f"stack stopped in {time.monotonic() - started:.1f}s"
          + (" (the worker did not stop)" if control.unclean else ""), flush=True)


# -- the run -------------------------------------------------------------------------
@dataclass
class Samples:
    intervals: list[Interval] = field(default_factory=list)
    rss_self: list[int] = field(default_factory=list)
    rss_broker: list[int] = field(default_factory=list)
    lags: list[int] = field(default_factory=list)

    def take_rss(self, broker_pid: int | None) -> tuple[int, int]:
        now_self, now_broker = rss(os.getpid()), rss(broker_pid)
        self.rss_self.append(now_self)
        self.rss_broker.append(now_broker)
        return now_self, now_broker


async def wait_ready(running: Running, stop: asyncio.Event, timeout_s: float = 60.0) -> float:
    """Seconds until ``/readyz`` answers 200 (views loaded, worker assigned)."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < timeout_s and not stop.is_set():
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{running.base_url}/readyz") as resp:
                    if resp.status == 200:
                        return time.monotonic() - started
            await asyncio.sleep(0.5)
    if not stop.is_set():
        print(f"warning: /readyz not 200 after {timeout_s:.0f}s; starting the traffic anyway")
    return time.monotonic() - started


SAMPLE_ERRORS = (BrokerError, KafkaError, OSError, TimeoutError)


async def monitor(probe: KafkaProbe, broker: EmbeddedBroker, latency: LatencyLog,
                  traffic: asyncio.Task[SimulatorSummary], every: float,
                  samples: Samples) -> tuple[float, float]:
    """Print one line per interval until the traffic ends; (traffic start, end) times.
    A failed sample is reported and skipped; if the broker died, the traffic stops."""
    loop = asyncio.get_running_loop()
    hws, _ = await probe.sample()
    t0 = started = loop.time()
    ev0, req0 = events_on(hws), latency.responses
    cpu0, bcpu0 = cpu_seconds(os.getpid()), cpu_seconds(broker.pid)
    print(HEADER, flush=True)
    while True:
        await asyncio.wait({traffic}, timeout=max(t0 + every - loop.time(), 0.0))
        ended = traffic.done()
        t1 = loop.time()
        if ended and t1 - t0 < 1.0:  # a sliver of an interval says nothing
            return started, t1
        try:
            hws, lag = await probe.sample()
        except SAMPLE_ERRORS as exc:
            print(f"{t1 - started:>6.0f}s sample failed: {type(exc).__name__}: {exc}", flush=True)
            if not broker.alive():
                print("the broker exited; stopping the traffic", flush=True)
                traffic.cancel()
                await asyncio.wait({traffic})
                return started, loop.time()
            continue
        cpu1, bcpu1 = cpu_seconds(os.getpid()), cpu_seconds(broker.pid)
        now_self, now_broker = samples.take_rss(broker.pid)
        ms = latency.take()
        ev1, req1 = events_on(hws), latency.responses
        sample = Interval(
            elapsed_s=t1 - started,
            events_per_s=per_second(ev0, ev1, t0, t1),
            requests_per_s=per_second(req0, req1, t0, t1),
            p50_ms=percentile(ms, 0.5),
            p99_ms=percentile(ms, 0.99),
            lag=lag,
            rss_self=now_self,
            rss_broker=now_broker,
            cpu_self=cpu_share(cpu0, cpu1, t0, t1),
            cpu_broker=cpu_share(bcpu0, bcpu1, t0, t1),
            load1=os.getloadavg()[0],
        )
        samples.intervals.append(sample)
        samples.lags.append(lag)
        print(row(sample), flush=True)
        t0, ev0, req0, cpu0, bcpu0 = t1, ev1, req1, cpu1, bcpu1
        if ended:
            return started, t1


def serving_sink(running: Running) -> KafkaEventSink | None:
    if running.serving is None:
        return None
    sink = running.serving.app[DEPS].sink
    return sink if isinstance(sink, KafkaEventSink) else None


def worker_stats(running: Running) -> StreamStats | None:
    return running.tables.stats if isinstance(running.tables, StreamTables) else None


async def drain(running: Running, probe: KafkaProbe, budget_s: float,
                abort: asyncio.Event) -> tuple[dict[TopicPartition, int], float, bool]:
    """Wait for the serving sink to hand everything to Kafka, then for the worker to have
    processed and committed everything on the input topics. (final high-water marks,
    seconds waited, drained?)"""
    started = time.monotonic()
    deadline = started + budget_s
    sink = serving_sink(running)
    while sink is not None and (not sink.queue.empty() or sink.producer.pending):
        if time.monotonic() > deadline or abort.is_set():
            break
        await asyncio.sleep(0.1)
    stats = worker_stats(running)
    hws = await probe.highwaters()
    produced = by_topic(hws)
    while True:
        committed = await probe.committed()
        seen = stats.processed if stats is not None else {}
        done = (consumer_lag(hws, committed) == 0
                and all(seen.get(t, 0) >= produced.get(t, 0) for t in CHECKED_TOPICS))
        if done or time.monotonic() > deadline or abort.is_set():
            return hws, time.monotonic() - started, done
        await asyncio.sleep(0.5)


@dataclass
class Traffic:
    """What the traffic phase measured."""

    started: float
    ended: float
    summary: SimulatorSummary | None
    latency: LatencyLog
    samples: Samples
    simulator: EventProducer
    delivery_error: str = ""


@dataclass
class Settled:
    """The system after the drain: what the checks compare."""

    hws: dict[TopicPartition, int]
    drain_s: float
    drained: bool
    final_lag: int
    dead: Counter[str]
    live_totals: dict[str, object]


async def soak(args: argparse.Namespace) -> int:
    print(machine())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"soak: {args.minutes:g} min at {args.rate:g} requests/s offered, seed {args.seed}, "
          f"a line every {args.sample_every:g}s, drain ≤ {args.drain:g}s", flush=True)
    limit = next(f.default for f in dataclasses.fields(ServingSettings)
                 if f.name == "rate_refill_per_s")
    if isinstance(limit, float) and 0 < limit < args.rate:
        print(f"note: serving's default rate limit is {limit:g} requests/s per tenant; the "
              f"excess of the offered {args.rate:g}/s is answered 429 (counted at the end)")
    loop = asyncio.get_running_loop()
    control = Control()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, control.on_signal)
    try:
        with tempfile.TemporaryDirectory(prefix="recsys-soak-") as tmp:
            broker = EmbeddedBroker(free_port(), log_file=Path(tmp) / "broker.log")
            await asyncio.to_thread(broker.start)
            try:
                settings = demo_settings(Settings(
                    kafka_bootstrap=broker.bootstrap,  # ours: start_stack leaves it alone
                    http_port=free_port(),
                    data_dir=Path(tmp) / "var",
                    app_id="recsys-soak",
                ))
                code = await run_stack(settings, broker, args, control)
            finally:
                broker.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if control.unclean:
        # A worker stuck on a dead broker would keep asyncio.run (and its threads) alive
        # for ever; everything else is stopped and reported, so leave without it.
        print("exiting without waiting for the worker", flush=True)
        sys.stderr.flush()
        os._exit(code or 1)
    return code


async def run_stack(settings: Settings, broker: EmbeddedBroker, args: argparse.Namespace,
                    control: Control) -> int:
    started = time.monotonic()
    running = await start_stack(settings)
    try:
        ready_s = await wait_ready(running, control.stop)
        print(f"stack up in {time.monotonic() - started:.1f}s (ready after {ready_s:.1f}s): "
              f"broker pid {broker.pid} at {settings.bootstrap}, HTTP {running.base_url}, "
              f"{settings.partitions} partitions, data dir {settings.data_dir}", flush=True)
        if control.stop.is_set():
            print("stopped before the traffic started")
            return 130
        probe = KafkaProbe(settings.bootstrap, settings.app_id, settings.partitions)
        await probe.start()
        try:
            traffic = await drive(running, settings, broker, probe, args, control)
            if not broker.alive():
                print("the broker exited: nothing to check")
                return 1
            try:
                settled = await settle(running, settings, broker, probe, traffic, args,
                                       control.abort)
            except SAMPLE_ERRORS as exc:
                print(f"cannot check: {type(exc).__name__}: {exc}")
                return 1
        finally:
            await probe.close()
        return report(running, traffic, settled, args)
    finally:
        await stop_quietly(running, control)


async def drive(running: Running, settings: Settings, broker: EmbeddedBroker,
                probe: KafkaProbe, args: argparse.Namespace, control: Control) -> Traffic:
    """The simulated users for ``--minutes``, one printed line per interval."""
    samples = Samples()
    samples.take_rss(broker.pid)
    latency = LatencyLog()
    producer = EventProducer(settings.bootstrap,
                             registry=await open_registry(settings.schema_registry_url),
                             salt=settings.user_id_salt, client_id="recsys-soak")
    await producer.start()
    try:
        async with aiohttp.ClientSession(trace_configs=[latency.trace_config()]) as http:
            control.traffic = asyncio.create_task(run_simulator(
                settings, running.base_url, producer, rate=args.rate, seed=args.seed,
                duration_s=args.minutes * 60, session=http))
            t_start, t_end = await monitor(probe, broker, latency, control.traffic,
                                           args.sample_every, samples)
            summary: SimulatorSummary | None = None
            with contextlib.suppress(asyncio.CancelledError):
                summary = await control.traffic
        result = Traffic(t_start, t_end, summary, latency, samples, producer)
        try:
            await producer.flush()
        except DeliveryError as exc:
            result.delivery_error = str(exc)
    finally:
        await producer.stop()
    return result


async def settle(running: Running, settings: Settings, broker: EmbeddedBroker,
                 probe: KafkaProbe, traffic: Traffic, args: argparse.Namespace,
                 abort: asyncio.Event) -> Settled:
    hws, drain_s, drained = await drain(running, probe, args.drain, abort)
    final_lag = consumer_lag(hws, await probe.committed())
    traffic.samples.take_rss(broker.pid)
    dead = await dead_letters_by_source(settings.bootstrap, settings.partitions)
    totals = running.serving.live.overview()["totals"] if running.serving is not None else {}
    return Settled(hws, drain_s, drained, final_lag, dead, dict(totals))


def report(running: Running, traffic: Traffic, settled: Settled,
           args: argparse.Namespace) -> int:
    """Print the lost check and the summary; 1 if anything was lost."""
    latency, samples = traffic.latency, traffic.samples
    print(f"\ntraffic ran {traffic.ended - traffic.started:.0f}s"
          + ("" if traffic.summary is not None else " (stopped early)"))
    if traffic.summary is not None:
        print(traffic.summary.line())
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(latency.statuses.items()))
    print(f"recommend responses {latency.responses:,} ({statuses}), transport errors "
          f"{latency.errors:,}")
    print(f"drain: {'done' if settled.drained else 'NOT done'} in {settled.drain_s:.1f}s "
          f"(budget {args.drain:g}s); final lag {settled.final_lag:,} on the input topics")

    stats = worker_stats(running)
    produced = by_topic(settled.hws)
    dead = settled.dead
    checks = [TopicCheck(t, produced.get(t, 0), stats.processed.get(t, 0) if stats else 0,
                         dead.get(t, 0)) for t in CHECKED_TOPICS]
    sink = serving_sink(running)
    deliveries = []
    if sink is not None:
        deliveries.append(DeliveryCheck(
            "serving exposure sink → exposures + assignments", sink.producer.sent,
            produced.get(topics.EXPOSURES, 0) + produced.get(topics.ASSIGNMENTS, 0),
            sink.dropped + sink.failed + sink.producer.failed))
    simulator = traffic.simulator
    deliveries.append(DeliveryCheck(
        "simulator producer → outcomes + items", simulator.sent,
        produced.get(topics.OUTCOMES, 0) + produced.get(topics.ITEMS, 0), simulator.failed))
    print("\nlost check (records on the topic == consumed by the stream worker + "
          "dead-lettered):")
    for check in checks:
        print("  " + check.line())
    if stats is not None:
        other = sum(n for src, n in dead.items() if src not in CHECKED_TOPICS)
        print(f"  dead letters: {sum(dead.values()):,} on the topic (worker counted "
              f"{stats.dead_letters:,}){f', {other} from other topics' if other else ''}")
    else:
        print("  the stream worker's counters are not available (Running.tables)")
    print("producers (acknowledged == on the topics, nothing dropped or failed):")
    for d in deliveries:
        print("  " + d.line())
    if traffic.delivery_error:
        print(f"  simulator producer flush: {traffic.delivery_error}")
    totals = settled.live_totals
    print(f"live join view (informational): exposures {totals.get('exposures', '?')}, "
          f"outcomes {totals.get('outcomes', '?')}")
    lost = total_lost(checks) + sum(d.lost for d in deliveries) + (stats is None)
    print("RESULT: " + ("OK, nothing lost" if not lost else f"LOST {lost}"))

    print("\nsummary:")
    for line in summary_lines(
        events={t.split(".")[1]: produced.get(t, 0) for t in EVENT_TOPICS},
        seconds=traffic.ended - traffic.started,
        latencies_ms=latency.overall,
        lags=samples.lags,
        rss_self=samples.rss_self,
        rss_broker=samples.rss_broker,
    ):
        print("  " + line)
    print(f"  {machine()}; load average at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 1 if lost else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic duration")
    parser.add_argument("--rate", type=float, default=40.0,
                        help="recommend requests/s offered by the simulated users")
    parser.add_argument("--sample-every", type=float, default=10.0,
                        help="seconds between printed lines")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drain", type=float, default=60.0,
                        help="max seconds to wait for the worker to drain at the end")
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0 or args.sample_every <= 0 or args.drain < 0:
        parser.error("--minutes, --rate and --sample-every must be > 0, --drain ≥ 0")
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("faust", "mode", "aiokafka", "aiohttp.access", "app.faust_app"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
