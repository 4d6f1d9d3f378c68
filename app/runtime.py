"""``recsys up``: embedded broker (unless configured) + one Faust worker + the serving app.

The HTTP side is the full serving app of ``recsys serve`` (recommend, admin API, live
evaluation and dashboard) reading the views the in-process worker publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.broker import EmbeddedBroker
from app.faust_app import make_faust_app
from app.kafka_admin import AdminProbe, ensure_topics
from app.lifecycle import (
    arm_deadline,
    bounded,
    broker_failure,
    first_or_stop,
    stop_on_signals,
    watch,
    worker_failure,
)
from app.live_views import FaustCountsView, ShownBackfill
from app.serve import ServingParts, build_serving_app, key_ring
from app.settings import Settings
from schemas.codec import AvroCodec
from schemas.errors import ConfigError, RecsysError
from schemas.registry import open_registry
from streams.agents import StreamTables, register_agents
from streams.live.config import LiveConfig, live_config_from
from streams.live_agents import register_live_agents
from streams.state_config import StateConfig

log = logging.getLogger(__name__)
STOP_BUDGET_S = 8.0


@dataclass
class Running:
    """Handles of a running stack, for tests and for shutdown."""

    settings: Settings
    broker: EmbeddedBroker | None
    faust_app: object
    runner: web.AppRunner
    probe: AdminProbe
    http_port: int
    tables: object = field(default=None)
    serving: ServingParts | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.http_host}:{self.http_port}"


def state_config(settings: Settings) -> StateConfig:
    from streams.popularity import PopularityConfig

    return StateConfig(
        popularity=PopularityConfig(half_life_days=settings.half_life_days),
        grace_ms=int(settings.grace_s * 1000),
        grace_wall_ms=int(settings.grace_wall_s * 1000),
    )


def live_config(settings: Settings) -> LiveConfig:
    return live_config_from(state_config(settings))


async def start_stack(settings: Settings) -> Running:
    """Start everything ``recsys up`` runs and return once the HTTP port listens.

    If any step fails (or the start is cancelled), what was started is stopped again,
    in bounded steps, before the error propagates: the runner, the Faust app, the broker.
    """
    keys = key_ring(settings)  # a bad API-key setup fails before anything starts
    broker = None
    fapp: Any = None
    worker_starting = False
    runner: web.AppRunner | None = None
    try:
        if settings.embedded_broker:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            broker = EmbeddedBroker(
                settings.kafka_port, log_file=settings.data_dir / "broker.log"
            )
            # launched from the loop's thread, which lives as long as the process (the
            # broker's parent-death signal is tied to the thread that started it)
            broker.launch()
            await asyncio.to_thread(broker.wait_listening)
        created = await ensure_topics(
            settings.bootstrap, settings.partitions, settings.replication_factor
        )
        if created:
            log.info("created topics: %s", ", ".join(created))
        codec = AvroCodec(await open_registry(settings.schema_registry_url))
        fapp = make_faust_app(settings)
        tables = register_agents(
            fapp, codec, partitions=settings.partitions, config=state_config(settings)
        )
        live = live_config(settings)
        register_live_agents(fapp, codec, partitions=settings.partitions, config=live)
        worker_starting = True  # a start that fails half-way leaves threads to stop
        await fapp.start()
        probe = AdminProbe(settings.bootstrap)
        counts = FaustCountsView(fapp, tables)
        serving = await build_serving_app(
            settings,
            popularity=lambda views: ShownBackfill(views, counts),
            extra_ready={"worker": counts.ready},
            keys=keys,
        )
        runner = web.AppRunner(serving.app)
        await runner.setup()
        port = await _listen(runner, settings.http_host, settings.http_port)
    except BaseException:
        log.info("start failed; stopping what was started")
        if runner is not None:
            await bounded("HTTP server cleanup", runner.cleanup(), 2.0)
        if worker_starting:
            await stop_worker(fapp, STOP_BUDGET_S - 3)
        if broker is not None:
            await asyncio.to_thread(broker.stop, 2.0)
        raise
    return Running(settings, broker, fapp, runner, probe, port, tables, serving)


async def _listen(runner: web.AppRunner, host: str, port: int) -> int:
    """Listen on ``host:port`` (0: any free port); the port listened on."""
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another port with "
            "--port (or RECSYS_HTTP_PORT)"
        ) from exc
    return int(runner.addresses[0][1]) if runner.addresses else port


async def stop_stack(running: Running) -> None:
    """Stop server, worker and broker (by PID), each step bounded in time and none able
    to skip the next (``app.lifecycle.bounded``)."""
    started = time.monotonic()
    await bounded("HTTP server cleanup", running.runner.cleanup(), 2.0)
    await bounded("broker probe close", running.probe.close(), 1.0)
    # a worker that will not stop must not keep the broker alive
    await stop_worker(running.faust_app, STOP_BUDGET_S - 3)
    if running.broker is not None:
        await asyncio.to_thread(running.broker.stop, 2.0)
    log.info("stopped in %.1fs", time.monotonic() - started)


async def stop_worker(fapp: Any, timeout_s: float) -> None:
    """Stop the Faust app within ``timeout_s``. A crashed app's ``stop()`` fails at its
    first step (its consumer thread's loop is closed) and skips the rest, so its
    producer is then stopped directly, not left for the collector to complain about."""
    started = time.monotonic()
    if await bounded("worker stop", fapp.stop(), timeout_s) or not fapp.crashed:
        return
    left = max(0.5, timeout_s - (time.monotonic() - started))
    await bounded("crashed worker's producer stop", fapp.producer.stop(), left)


async def run_until_signal(
    settings: Settings,
    *,
    banner: bool = True,
    beside: Callable[[Running], Coroutine[Any, Any, object]] | None = None,
) -> None:
    """Run the stack until SIGINT/SIGTERM, then stop it cleanly.

    ``beside`` runs as a task next to the stack (the demo's simulator); when it ends the
    stack keeps running until the signal, and it is cancelled on the signal.

    A worker that crashes while running stops the whole stack (server and broker too)
    and raises ``WorkerCrashedError``: serving on from tables that no longer move would
    hide the failure, and a process supervisor restarts a process that exited.
    """
    stop = stop_on_signals()
    # a signal during the start (the broker bootstrap alone may wait 40 s) cancels it;
    # start_stack then stops what it had started
    running = await first_or_stop(start_stack(settings), stop)
    if running is None:
        print("recsys up: stopped during startup", flush=True)
        return
    if banner:
        where = "embedded broker" if running.broker else "Kafka"
        print(f"recsys up: {where} at {settings.bootstrap}", flush=True)
        print(
            f"recsys up: HTTP on {running.base_url}  (POST /v1/recommend, GET /readyz)", flush=True
        )
        print(f"recsys up: dashboard at {running.base_url}/dashboard", flush=True)
        print("recsys up: Ctrl-C stops everything", flush=True)
    task: asyncio.Task[object] | None = None
    if beside is not None:
        task = asyncio.create_task(beside(running))
    checks = [worker_failure(running.faust_app)]
    if running.broker is not None:
        checks.append(broker_failure(running.broker))
    failure: RecsysError | None = None
    try:
        failure = await watch(stop, checks)
    finally:
        arm_deadline()
        if failure is not None:
            log.error("%s; stopping everything", failure)
        print("recsys up: stopping…", flush=True)
        if task is not None:
            task.cancel()
            await bounded("demo traffic", _settled(task), 3.0)
        await stop_stack(running)
    if failure is not None:
        raise type(failure)(f"{failure}; stopped everything")


async def _settled(task: asyncio.Task[object]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def start_worker(settings: Settings) -> tuple[Any, StreamTables]:
    """Create topics and start one Faust worker (no HTTP); the caller stops it."""
    await ensure_topics(settings.bootstrap, settings.partitions, settings.replication_factor)
    codec = AvroCodec(await open_registry(settings.schema_registry_url))
    fapp = make_faust_app(settings)
    tables = register_agents(
        fapp, codec, partitions=settings.partitions, config=state_config(settings)
    )
    register_live_agents(fapp, codec, partitions=settings.partitions, config=live_config(settings))
    try:
        await fapp.start()
    except BaseException:  # failed or cancelled half-way: its threads must not stay
        await stop_worker(fapp, STOP_BUDGET_S - 3)
        raise
    return fapp, tables


async def run_worker_until_signal(settings: Settings) -> None:
    """``recsys worker``: one stream worker until SIGINT/SIGTERM, or until it crashes
    (``WorkerCrashedError``, so the CLI exits 1 and a supervisor restarts it)."""
    if settings.embedded_broker:
        raise ConfigError("recsys worker needs RECSYS_KAFKA_BOOTSTRAP (a running broker)")
    stop = stop_on_signals()
    started = await first_or_stop(start_worker(settings), stop)
    if started is None:
        print("recsys worker: stopped during startup", flush=True)
        return
    fapp, _ = started
    print(f"recsys worker: {settings.app_id} on {settings.bootstrap}", flush=True)
    failure: RecsysError | None = None
    try:
        failure = await watch(stop, [worker_failure(fapp)])
    finally:
        arm_deadline()
        if failure is not None:
            log.error("%s; stopping", failure)
        await stop_worker(fapp, STOP_BUDGET_S)
    if failure is not None:
        raise failure
