"""The live join survives SIGKILL: a worker killed hard mid-stream, a new one recovers the
table from its changelog and goes on — the live documents still equal ``recsys-eval run
--mode experiment`` on the same files (nothing lost, nothing counted twice), and every
joined outcome is on ``recsys.joined.v1`` (at least once).

The worker runs in its own process (``python -m tests.integration.test_live_join_recovery
BOOTSTRAP APP_ID DATA_DIR``): only the live join, with the parity test's config and an
event-time grace of a day. A replay from committed offsets reads the three input topics
at different paces, so a partition's event time can run ahead of a late exposure by more
than the 5-minute default grace (its outcomes would then count as orphans, as they would
in any stream that far behind); the day keeps this test about crashes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.broker import EmbeddedBroker
from app.faust_app import make_faust_app
from app.kafka_admin import ensure_topics
from app.replay import replay
from app.settings import Settings
from eval.config_normalize import load_config
from schemas.codec import AvroCodec
from schemas.registry import LocalRegistry
from serving.live_reader import LiveReader, merge_snapshots, overview
from streams.live.config import DAY_MS
from streams.live.joined import joined_record
from streams.live.twin import apply, batch_snapshots, initial, route
from streams.live_agents import register_live_agents
from tests.integration.test_live_join import PARTITIONS, read_joined
from tests.unit.streams.live.parity_data import (
    CONFIG_YAML,
    EXPERIMENT,
    LIVE_CONFIG,
    assert_matches_offline,
    generate,
    offline_report,
)

CONFIG = replace(LIVE_CONFIG, grace_ms=DAY_MS)


class LiveWorker:
    """A live-join worker process (killed with SIGKILL: no hooks, no flush, no commit)."""

    def __init__(self, bootstrap: str, app_id: str, data_dir: Path, log: Path) -> None:
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, bootstrap, app_id, str(data_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_for(check: Any, timeout_s: float, what: str) -> None:
    """Until ``check()`` stops raising AssertionError (re-raised after ``timeout_s``)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            check()
            return
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                print(f"gave up waiting for {what}")
                raise
            await asyncio.sleep(0.25)


def outcome_keys(records: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Joined records by outcome (the arm they carry depends on the arrival order)."""
    return Counter(
        (r["request_id"], r["item_id"], r["event_type"], r["outcome_ts"]) for r in records
    )


async def test_sigkill_mid_stream_then_restart_keeps_live_documents_exact(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    log = generate(random.Random(17), requests=1200)
    report = offline_report(log, tmp_path)
    (tmp_path / "c.yaml").write_text(CONFIG_YAML)
    cfg = load_config(tmp_path / "c.yaml").experiment
    half = len(log.arrival) // 2
    first_half = overview(merge_snapshots(batch_snapshots(log.arrival[:half], CONFIG, PARTITIONS)))
    twin = initial(CONFIG)
    for record in route(log.arrival, PARTITIONS):
        apply(twin, record)

    bootstrap = fresh_broker.bootstrap
    await ensure_topics(bootstrap, PARTITIONS)
    app_id = f"live-crash-{uuid.uuid4().hex[:6]}"
    reader = LiveReader(bootstrap, cfg)
    first = LiveWorker(bootstrap, app_id, tmp_path / "worker", tmp_path / "worker1.log")
    second: LiveWorker | None = None
    try:
        await reader.start()
        summary = await replay(log.arrival[:half], bootstrap, registry=LocalRegistry())
        assert summary.failed == 0

        def first_half_counted() -> None:
            assert reader.overview()["totals"] == first_half["totals"]

        await wait_for(first_half_counted, 120, "the first half")

        # Kill the worker while it is working through the second half.
        rest = asyncio.create_task(
            replay(log.arrival[half:], bootstrap, registry=LocalRegistry(), rate=1000)
        )
        seen = first_half["totals"]["exposures"]

        def second_half_flowing() -> None:
            assert reader.overview()["totals"]["exposures"] > seen + 50

        await wait_for(second_half_flowing, 60, "the second half to flow")
        first.kill()
        second = LiveWorker(bootstrap, app_id, tmp_path / "worker", tmp_path / "worker2.log")
        summary = await rest
        assert summary.failed == 0

        def all_counted() -> None:
            assert_matches_offline(reader.overview(), reader.experiment(EXPERIMENT), report)

        try:
            await wait_for(all_counted, 120, "parity with recsys-eval")
        except AssertionError:
            ji = report["data_quality"]["join_integrity"]
            print("live totals:", reader.overview()["totals"], "offline:", ji)
            for doc in batch_snapshots(log.arrival, CONFIG, PARTITIONS):
                p = doc["partition"]
                got = reader.snapshots.get(p, {})
                print(
                    f"partition {p}: live exposures {_exposures(got)} as of "
                    f"{got.get('as_of_ms')}, expected {_exposures(doc)}"
                )
            second.stop()  # SIGTERM: the worker prints where each of its tasks waits
            for name in ("worker1.log", "worker2.log"):  # CI keeps no tmp dirs
                lines = (tmp_path / name).read_text(errors="replace").splitlines()
                lines = [ln for ln in lines if not ln.startswith("processed ")] + lines[-3:]
                print(f"--- {name} (progress lines left out):", *lines[-250:], sep="\n")
            raise
        assert second.proc.poll() is None, "the second worker died"
        # joined.v1 is at least once: every outcome the twin joined, none it did not
        joined = outcome_keys(await read_joined(bootstrap))
        expected = outcome_keys([joined_record(j) for j in twin.joined])
        assert joined.keys() == expected.keys()
        assert all(joined[k] >= n for k, n in expected.items())
    finally:
        await reader.stop()
        first.stop()
        if second is not None:
            second.stop()


def _exposures(doc: dict[str, Any]) -> int:
    counts = doc.get("tally", {}).get("counts", [])
    return sum(int(c[-1]) for c in counts if c[0] == "n" and c[3] == "exp")


def _client_state(fapp: Any) -> str:
    """Per input partition: paused in the client?, fetch position, high-water mark."""
    client = fapp.consumer._thread._ensure_consumer()
    assignment = client._subscription.subscription.assignment
    parts = []
    for tp in sorted(assignment.tps):
        if not tp.topic.startswith("recsys."):
            continue
        st = assignment.state_value(tp)
        pos = st.position if st.has_valid_position else None
        parts.append(
            f"{tp.topic[7:12]}{tp.partition}:{'P' if st.paused else ''}"
            f"{pos}/{client.highwater(tp)}{' reset' if st.awaiting_reset else ''}"
        )
    conductor = fapp.topics
    index = {
        f"{tp.topic[7:12]}{tp.partition}": [
            (hex(id(ch))[-5:], ch.queue.qsize()) for ch in channels
        ]
        for tp, channels in conductor._tp_index.items()
        if tp.topic.startswith("recsys.") and tp.partition == 0
    }
    topics = [(hex(id(ch))[-5:], ch.is_iterator, ch.queue.qsize()) for ch in conductor._topics]
    consumer = fapp.consumer
    active = sorted(f"{tp.topic[7:12]}{tp.partition}" for tp in consumer._active_partitions
                    if tp.topic.startswith("recsys."))
    buffered = sorted(f"{tp.topic[7:12]}{tp.partition}" for tp in consumer._buffered_partitions)
    read = {f"{tp.topic[7:12]}{tp.partition}": o for tp, o in consumer._read_offset.items()
            if tp.topic.startswith("recsys.") and tp.partition == 0}
    flow = (fapp.flow_control.is_active(), consumer.flow_active, fapp.in_recovery)
    generations = (fapp.consumer_generation_id, client._coordinator.generation)
    return (
        f"client {' '.join(parts)}\nconductor index {index} topics {topics}\n"
        f"flow active {flow} generation app/client {generations}\n"
        f"active {active} buffered {buffered} read offsets {read}"
    )


def _await_chain(coro: Any) -> list[str]:
    """file:line of each coroutine in the chain ``coro`` is awaiting through."""
    out = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return out


async def serve(bootstrap: str, app_id: str, data_dir: Path) -> None:
    """Run a worker with only the live join until SIGTERM."""
    settings = Settings(
        kafka_bootstrap=bootstrap, partitions=PARTITIONS, data_dir=data_dir, app_id=app_id
    )
    fapp = make_faust_app(settings)
    tables = register_live_agents(
        fapp, AvroCodec(LocalRegistry()), partitions=PARTITIONS, config=CONFIG
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await fapp.start()
    print("live worker started", flush=True)
    while not stop.is_set():  # progress in the worker's log
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in fapp.consumer.assignment())
        paused = sorted(f"{tp.topic}:{tp.partition}" for tp in fapp.consumer._paused_partitions)
        print(
            f"processed {tables.processed} published {tables.published} "
            f"assigned {len(assigned)} paused {paused}",
            flush=True,
        )
        if tables.processed == 0:  # what the client and Faust see, should it stall
            print(_client_state(fapp), flush=True)
    for task in asyncio.all_tasks():  # where each task waits, should it hang
        print("task", task.get_name(), *_await_chain(task.get_coro()), sep="\n  ")
    for agent in fapp.agents.values():  # the agent's own coroutine, to the innermost await
        print("agent", agent.name, agent.actor_tracebacks(), sep="\n")
    await fapp.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)  # into the worker's log file
    asyncio.run(serve(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
