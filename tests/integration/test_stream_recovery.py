"""Crash and scale-out: the views stay equal to the batch twin.

* A worker is SIGKILLed while it is processing; a new one recovers the tables from
  their changelogs and goes on: nothing lost, nothing counted twice.
* Two workers in one consumer group split 8 partitions; the merged views are exact.
* A worker that handed partitions over does not republish its old copy of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from aiokafka.structs import ConsumerRecord

from app.broker import EmbeddedBroker
from app.replay import merge_by_time, replay
from app.runtime import state_config
from app.settings import Settings
from app.synthetic import generate
from schemas.codec import AvroCodec
from schemas.registry import LocalRegistry
from schemas.views import COVISITATION_VIEW, HISTORY_VIEW, parse_key
from serving.view_reader import ViewReader
from streams.twin import TwinState, state_twin
from tests.integration.procs import WorkerProcess, worker_env
from tests.integration.views_check import differences, wait_equal

CONFIG = state_config(Settings(grace_s=86_400.0, grace_wall_s=5.0))


@contextlib.asynccontextmanager
async def reading(reader: ViewReader, workers: list[WorkerProcess]) -> AsyncIterator[None]:
    """The reader started; on a clean exit every worker (those added inside the block
    too) must still run; then the reader and the workers are stopped."""
    try:
        await reader.start()
        yield
        assert all(w.proc.poll() is None for w in workers), "a worker died"
    finally:
        await reader.stop()
        for w in workers:
            w.stop()


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
    async with reading(reader, workers):
        await asyncio.sleep(4.0)  # let both join the group before data flows
        await replay(events, fresh_broker.bootstrap, registry=LocalRegistry(), rate=2000)
        await wait_equal(reader, state_twin(events, CONFIG), CONFIG.popularity.top_k)
    logs = [(tmp_path / f"w{n}.log").read_text() for n in (1, 2)]
    assert all("recsys worker:" in text for text in logs)


class RecordChecker(ViewReader):
    """A ViewReader that, once given a twin, checks every co-visitation and history record
    it reads against it (the final state alone hides a stale record when the owner's
    fresh one happens to come after it)."""

    twin: TwinState | None = None
    stale: list[str]

    def apply(self, record: ConsumerRecord[bytes, bytes], codec: AvroCodec) -> None:
        super().apply(record, codec)
        if self.twin is None or record.key is None or record.value is None:
            return
        key = tuple(parse_key(record.key))
        if record.topic == COVISITATION_VIEW:
            got, want = self.covisitation[key], self.twin.neighbours.get(key)  # type: ignore[index]
        elif record.topic == HISTORY_VIEW:
            got, want = self.history[key], list(self.twin.history.get(key, ()))  # type: ignore[index]
        else:
            return
        if got != want:
            self.stale.append(f"{record.topic} {key}: published {got}, twin {want}")


async def test_a_worker_that_handed_partitions_over_never_republishes_them(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """Worker 1 holds everything, hands half to worker 2, which then changes those keys;
    when worker 3 joins, worker 1's recovery must not publish its old copies of them
    (until session 7 it kept them, and republished them over worker 2's)."""
    log = generate(requests=600, users=30, catalog=50, seed=37)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    a, b = len(events) // 3, 2 * len(events) // 3
    env = worker_env(fresh_broker.bootstrap, f"handover-{uuid.uuid4().hex[:6]}", tmp_path, 8)
    reader = RecordChecker(fresh_broker.bootstrap)
    reader.stale = []
    workers = [WorkerProcess(env, tmp_path / "w1.log")]
    async with reading(reader, workers):
        await replay(events[:a], fresh_broker.bootstrap, registry=LocalRegistry())
        await wait_equal(reader, state_twin(events[:a], CONFIG), CONFIG.popularity.top_k)

        workers.append(WorkerProcess(env, tmp_path / "w2.log"))
        await asyncio.sleep(6.0)  # the group rebalances: worker 2 takes its share
        await replay(events[a:b], fresh_broker.bootstrap, registry=LocalRegistry())
        twin = state_twin(events[:b], CONFIG)
        await wait_equal(reader, twin, CONFIG.popularity.top_k)

        reader.twin = twin  # from now on, every record published must be current
        workers.append(WorkerProcess(env, tmp_path / "w3.log"))
        await asyncio.sleep(10.0)  # rebalance, recoveries, several publish intervals
        assert reader.stale == []
        assert differences(reader, twin, CONFIG.popularity.top_k) == []

        reader.twin = None
        await replay(events[b:], fresh_broker.bootstrap, registry=LocalRegistry())
        await wait_equal(reader, state_twin(events, CONFIG), CONFIG.popularity.top_k)
