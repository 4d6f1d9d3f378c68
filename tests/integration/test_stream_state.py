"""Stream state on the real broker: replayed events → published views == batch twin."""

from __future__ import annotations

import uuid
from pathlib import Path

from app.broker import EmbeddedBroker
from app.replay import merge_by_time, replay
from app.runtime import start_worker, state_config
from app.settings import Settings
from app.synthetic import generate
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
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
