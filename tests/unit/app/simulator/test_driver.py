"""The driver against the real serving app (in-memory views and sink) on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from app.settings import Settings
from app.simulator import SimulatorConfig, SimulatorSummary, run_simulator
from app.simulator.driver import World
from app.simulator.offline import catalog_views
from app.simulator.population import ClickModel
from schemas.events import Assignment, Exposure, Item, Outcome
from schemas.pseudonym import pseudonymize
from serving.app import create_app
from serving.config_store import InMemoryConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.sink import InMemorySink

SALT = "demo-salt"
SEED = 3
CONFIG = SimulatorConfig(n_items=200, n_categories=6, n_users=40, cold_clicks=0,
                         click_model=ClickModel(ceiling=0.9), click_delay_s=0.002,
                         conversion_delay_s=0.002)


class FakeProducer:
    """Records what the simulator hands to Kafka, in order."""

    def __init__(self) -> None:
        self.records: list[Item | Outcome] = []
        self.flushes = 0

    async def item(self, event: Item, /) -> None:
        self.records.append(event)

    async def outcome(self, event: Outcome, /) -> None:
        self.records.append(event)

    async def flush(self) -> None:
        self.flushes += 1

    @property
    def outcomes(self) -> list[Outcome]:
        return [r for r in self.records if isinstance(r, Outcome)]


@asynccontextmanager
async def server(roles: frozenset[str] = frozenset({"viewer", "operator", "admin"}),
                 ) -> AsyncIterator[tuple[str, InMemorySink]]:
    """Serving in open mode over views that know the simulator's catalog; the 20 first
    items are popular on both surfaces so experiment requests return something."""
    world = World.build(SEED, CONFIG)
    views = catalog_views(world.catalog, CONFIG.tenant)
    for surface in ("home", "pdp"):
        views.popularity[(CONFIG.tenant, surface)] = {
            it.item_id: float(20 - n) for n, it in enumerate(world.catalog.items[:20])}
    sink = InMemorySink()
    deps = ServingDeps(
        popularity=views, catalog=views, covisitation=views, history=views, sink=sink,
        config_store=InMemoryConfigStore(),
        settings=ServingSettings(exposure_salt=SALT, rate_refill_per_s=0,
                                 open_roles=roles),
    )
    test_server = TestServer(create_app(deps), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield str(test_server.make_url("")), sink
    finally:
        await test_server.close()


async def test_outcomes_carry_the_served_request_ids_and_items():
    producer = FakeProducer()
    lines: list[str] = []
    async with server() as (url, sink):
        summary = await run_simulator(Settings(user_id_salt=SALT), url, producer, rate=400,
                                      seed=SEED, max_requests=40, config=CONFIG,
                                      on_summary=lambda s: lines.append(s.line()))
        await asyncio.sleep(0)  # the server's sink is drained after each response
    exposures = {e.request_id: e for e in sink.events if isinstance(e, Exposure)}
    assignments = [e for e in sink.events if isinstance(e, Assignment)]

    # the catalog goes out first, then only outcomes; never an exposure
    n_items = CONFIG.n_items
    assert all(isinstance(r, Item) for r in producer.records[:n_items])
    assert all(isinstance(r, Outcome) for r in producer.records[n_items:])
    assert producer.flushes >= 2  # after the catalog, and at the end

    assert (summary.sent, summary.answered, summary.failed) == (40, 40, 0)
    assert summary.variant_mismatches == 0
    assert len(exposures) == 40
    in_experiment = sum(c.requests for v, c in summary.arms.items() if v in ("A", "B"))
    assigned = [e for e in exposures.values() if e.context.get("experiment_variant")]
    assert len(assigned) == in_experiment > 0
    # the server logs one assignment per user (its default), for every user in the test
    assert sorted(a.user_id for a in assignments) == sorted({e.user_id for e in assigned})

    outcomes = producer.outcomes
    clicks = [o for o in outcomes if o.event_type == "click"]
    assert len(clicks) == sum(c.clicks for c in summary.arms.values()) > 0
    assert len(outcomes) == summary.outcomes
    for outcome in outcomes:
        exposure = exposures[outcome.request_id]
        assert outcome.item_id in {i.item_id for i in exposure.items}
        assert pseudonymize(outcome.user_id, SALT) == exposure.user_id
        assert outcome.timestamp_ms >= exposure.timestamp_ms
    for conversion in (o for o in outcomes if o.event_type == "conversion"):
        click = next(c for c in clicks if (c.request_id, c.item_id) ==
                     (conversion.request_id, conversion.item_id))
        assert conversion.value is not None and conversion.value > 0
        assert conversion.timestamp_ms >= click.timestamp_ms
    assert lines and lines[-1].startswith("sim ")


async def test_cancel_stops_cleanly():
    producer = FakeProducer()
    seen: list[SimulatorSummary] = []
    async with server() as (url, _sink):
        task = asyncio.create_task(run_simulator(
            Settings(user_id_salt=SALT), url, producer, rate=100, seed=SEED,
            max_requests=10**6, config=CONFIG, on_summary=seen.append))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not leftovers


async def test_refused_config_is_a_clear_error():
    async with server(frozenset({"viewer"})) as (url, sink), aiohttp.ClientSession() as http:
        with pytest.raises(RuntimeError, match="403.*RECSYS_FORBIDDEN"):
            await run_simulator(Settings(user_id_salt=SALT), url, FakeProducer(), rate=10,
                                seed=SEED, max_requests=1, config=CONFIG, session=http)
        assert not sink.events  # nothing was requested


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rate": 0, "max_requests": 1}, "rate must be > 0"),
    ({"rate": 5}, "duration_s or max_requests"),
])
async def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        await run_simulator(Settings(), "http://127.0.0.1:9", FakeProducer(), seed=1,
                            **kwargs)
