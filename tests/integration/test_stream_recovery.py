"""Crash and scale-out: the views stay equal to the batch twin.

* A worker is SIGKILLed while it is processing; a new one recovers the tables from
  their changelogs and goes on: nothing lost, nothing counted twice.
* Two workers in one consumer group split 8 partitions; the merged views are exact.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from app.broker import EmbeddedBroker
from app.replay import merge_by_time, replay
from app.runtime import state_config
from app.settings import Settings
from app.synthetic import generate
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
from streams.twin import state_twin
from tests.integration.procs import WorkerProcess, worker_env
from tests.integration.views_check import wait_equal

CONFIG = state_config(Settings(grace_s=86_400.0, grace_wall_s=5.0))


async def test_sigkill_mid_stream_then_restart_keeps_views_exact(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    log = generate(requests=700, users=30, catalog=50, seed=23)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    half = len(events) // 2
    env = worker_env(fresh_broker.bootstrap, f"crash-{uuid.uuid4().hex[:6]}", tmp_path, 4)
    reader = ViewReader(fresh_broker.bootstrap)
    first = WorkerProcess(env, tmp_path / "worker1.log")
    second: WorkerProcess | None = None
    try:
        await reader.start()
        await replay(events[:half], fresh_broker.bootstrap, registry=LocalRegistry())
        await wait_equal(reader, state_twin(events[:half], CONFIG), CONFIG.popularity.top_k)

        # Kill the worker while the second half is flowing in.
        rest = asyncio.create_task(
            replay(events[half:], fresh_broker.bootstrap, registry=LocalRegistry(), rate=1500)
        )
        await asyncio.sleep(1.0)
        first.kill()
        second = WorkerProcess(env, tmp_path / "worker2.log")
        summary = await rest
        assert summary.failed == 0
        await wait_equal(reader, state_twin(events, CONFIG), CONFIG.popularity.top_k)
    finally:
        await reader.stop()
        first.stop()
        if second is not None:
            second.stop()


async def test_two_workers_split_eight_partitions_and_views_stay_exact(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    log = generate(requests=500, users=30, catalog=50, seed=31)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    env = worker_env(fresh_broker.bootstrap, f"pair-{uuid.uuid4().hex[:6]}", tmp_path, 8)
    workers = [WorkerProcess(env, tmp_path / f"w{n}.log") for n in (1, 2)]
    reader = ViewReader(fresh_broker.bootstrap)
    try:
        await reader.start()
        await asyncio.sleep(4.0)  # let both join the group before data flows
        await replay(events, fresh_broker.bootstrap, registry=LocalRegistry(), rate=2000)
        await wait_equal(reader, state_twin(events, CONFIG), CONFIG.popularity.top_k)
        assert all(w.proc.poll() is None for w in workers), "a worker died"
    finally:
        await reader.stop()
        for w in workers:
            w.stop()
    logs = [(tmp_path / f"w{n}.log").read_text() for n in (1, 2)]
    assert all("recsys worker:" in text for text in logs)
