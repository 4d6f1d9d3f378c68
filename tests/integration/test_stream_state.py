"""Stream state on the real broker: replayed events → published views == batch twin."""

from __future__ import annotations

import uuid
from pathlib import Path

from app.broker import EmbeddedBroker
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import merge_by_time, replay
from app.runtime import start_worker, state_config
from app.settings import Settings
from app.synthetic import generate
from schemas.codec import AvroCodec
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
from streams.agents import register_agents
from streams.stores import PairTableStore
from streams.twin import state_twin
from tests.integration.views_check import wait_equal


def worker_settings(broker: EmbeddedBroker, tmp_path: Path, **kw: object) -> Settings:
    base = Settings(
        kafka_bootstrap=broker.bootstrap,
        partitions=4,
        data_dir=tmp_path,
        app_id=f"state-{uuid.uuid4().hex[:8]}",
        grace_s=86_400.0,
        grace_wall_s=5.0,
    )
    return base.replace(**kw)


async def test_replayed_events_give_views_equal_to_the_batch_twin(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = worker_settings(fresh_broker, tmp_path)
    log = generate(requests=400, users=25, catalog=40, seed=11)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    twin = state_twin(events, state_config(settings))
    assert twin.neighbours and twin.history and len(twin.popularity) > 40  # a real workload

    fapp, _ = await start_worker(settings)
    reader = ViewReader(fresh_broker.bootstrap)
    try:
        await reader.start()
        summary = await replay(events, fresh_broker.bootstrap, registry=LocalRegistry())
        assert summary.failed == 0 and sum(summary.sent.values()) == len(events)
        await wait_equal(reader, twin, state_config(settings).popularity.top_k)
    finally:
        await reader.stop()
        await fapp.stop()


async def test_with_a_store_of_faust_s_the_views_are_the_same(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """``RECSYS_STORE=rocksdb://`` keeps the tables in Faust's store, not ours: the agents
    fall back to plain writes and the view index to its own copy of the pair counts.
    Faust's memory store takes the same path here (rocksdict is not installed)."""
    settings = worker_settings(fresh_broker, tmp_path)
    log = generate(requests=300, users=25, catalog=40, seed=13)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    twin = state_twin(events, state_config(settings))
    await ensure_topics(settings.bootstrap, settings.partitions)
    fapp = make_faust_app(settings)
    tables = register_agents(
        fapp, AvroCodec(LocalRegistry()), partitions=settings.partitions,
        config=state_config(settings), own_stores=False,
    )
    reader = ViewReader(fresh_broker.bootstrap)
    await fapp.start()
    try:
        assert not isinstance(tables.items.data, PairTableStore)
        await reader.start()
        summary = await replay(events, fresh_broker.bootstrap, registry=LocalRegistry())
        assert summary.failed == 0
        await wait_equal(reader, twin, state_config(settings).popularity.top_k)
        assert tables.index.pairs is not getattr(tables.items.data, "data", None)
    finally:
        await reader.stop()
        await fapp.stop()
