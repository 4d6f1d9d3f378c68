"""``recsys up --demo``: the stack of ``recsys up`` plus the traffic simulator.

Simulated users request recommendations from the real HTTP API (arm A: popularity
only, arm B: blended with co-visitation), click and convert by their hidden tastes,
and the stream learns from it. Every few seconds one line summarises the *live*
evaluation (``app.demo_summary``); the dashboard shows the same, in charts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.demo_summary import Rate, summary_line
from app.runtime import Running
from app.settings import Settings
from app.simulator import SimulatorConfig, SimulatorSummary, run_simulator
from app.simulator.arms import EXPERIMENT_ID
from schemas.errors import ConfigError
from schemas.producer import EventProducer
from schemas.registry import open_registry

DEMO_SALT = "recsys-demo-salt-not-for-production"


@dataclass(frozen=True)
class DemoOptions:
    rate: float = 20.0
    """Requests per second the simulated users send."""
    seed: int = 7
    duration_s: float | None = None
    """Simulated traffic stops after this many seconds (None: until Ctrl-C)."""
    summary_every_s: float = 5.0
    config: SimulatorConfig = dataclasses.field(default_factory=SimulatorConfig)


def demo_settings(settings: Settings) -> Settings:
    """The demo needs one salt for the server's exposures and the simulator's outcomes,
    so that the history view is keyed by the ids serving looks up. Its simulated users
    call the API in open mode (``X-Org-Id``), so it refuses an API-key file."""
    if settings.api_keys_file is not None:
        raise ConfigError(
            f"recsys up --demo sends its simulated traffic without API keys; unset "
            f"RECSYS_API_KEYS_FILE (now {settings.api_keys_file}) or run recsys up without --demo"
        )
    if settings.user_id_salt:
        return settings
    return dataclasses.replace(settings, user_id_salt=DEMO_SALT)


def live_line(running: Running, started: float, rate: Rate, tenant: str) -> str:
    if running.serving is None:
        return "live: no serving app"
    live = running.serving.live
    now = time.monotonic()
    return summary_line(
        now,
        now - started,
        live.overview(tenant),
        live.experiment(EXPERIMENT_ID, tenant),
        rate,
    )


async def run_demo(
    running: Running, options: DemoOptions, *, emit: Callable[[str], None] = print
) -> SimulatorSummary:
    """Drive simulated traffic against ``running`` and print live summaries until done."""
    settings = running.settings
    registry = await open_registry(settings.schema_registry_url)
    producer = EventProducer(
        settings.bootstrap, registry=registry, salt=settings.user_id_salt, client_id="recsys-demo"
    )
    started, rate = time.monotonic(), Rate()
    tenant = options.config.tenant

    async def report() -> None:
        while True:
            await asyncio.sleep(options.summary_every_s)
            emit(live_line(running, started, rate, tenant))

    await producer.start()
    emit(f"recsys up --demo: the demo tenant's dashboard at "
         f"{running.base_url}/dashboard#tenant={tenant}")
    reporter = asyncio.create_task(report())
    try:
        return await run_simulator(
            settings,
            running.base_url,
            producer,
            rate=options.rate,
            seed=options.seed,
            duration_s=options.duration_s if options.duration_s is not None else 10 * 365 * 86_400,
            config=options.config,
            assignment_salt=settings.user_id_salt,
        )
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await producer.stop()
