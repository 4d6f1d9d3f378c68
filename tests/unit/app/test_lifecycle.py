"""Stopping a process of ours: failure watch, bounded steps, leftover tasks, deadline."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from types import SimpleNamespace

from app import lifecycle
from app.lifecycle import WorkerCrashedError, bounded, broker_failure, watch, worker_failure
from app.live_views import FaustCountsView
from schemas.errors import BrokerError, RecsysError


def test_watch_returns_the_first_failure_reported() -> None:
    calls = {"n": 0}

    broken = BrokerError("broken")

    def flaky() -> RecsysError | None:
        calls["n"] += 1
        return broken if calls["n"] >= 3 else None

    async def go() -> RecsysError | None:
        return await watch(asyncio.Event(), [lambda: None, flaky], interval_s=0.01)

    assert asyncio.run(go()) is broken
    assert calls["n"] == 3


def test_watch_returns_none_when_asked_to_stop() -> None:
    async def go() -> RecsysError | None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stop.set)
        return await watch(stop, [lambda: None], interval_s=10.0)

    started = time.monotonic()
    assert asyncio.run(go()) is None
    assert time.monotonic() - started < 2.0  # woken by the event, not the interval


def test_a_crashed_worker_is_reported_with_its_reason() -> None:
    fapp = SimpleNamespace(crashed=False, crash_reason=None)
    check = worker_failure(fapp)
    assert check() is None
    fapp.crashed, fapp.crash_reason = True, RuntimeError("tombstone")
    error = check()
    assert isinstance(error, WorkerCrashedError)
    assert str(error) == "the stream worker crashed (RuntimeError: tombstone)"


def test_an_embedded_broker_that_exited_is_reported_with_its_pid_and_code() -> None:
    broker = SimpleNamespace(pid=4242, returncode=None)
    check = broker_failure(broker)  # type: ignore[arg-type]
    assert check() is None
    broker.returncode = -9
    error = check()
    assert isinstance(error, BrokerError)
    assert str(error) == "the embedded broker (pid 4242) exited with code -9"


def test_a_crashed_worker_is_not_ready_even_with_its_tables_recovered() -> None:
    recovery = SimpleNamespace(completed=asyncio.Event())
    recovery.completed.set()
    fapp = SimpleNamespace(crashed=False, tables=SimpleNamespace(recovery=recovery))
    view = FaustCountsView(fapp, tables=None)  # type: ignore[arg-type]
    assert view.ready() is True
    fapp.crashed = True
    assert view.ready() is False


def test_bounded_steps_neither_raise_nor_wait_past_their_budget() -> None:
    async def fails() -> None:
        raise RuntimeError("Event loop is closed")

    async def cancelled() -> None:  # what aiokafka's consumer stop() does on a dead broker
        raise asyncio.CancelledError

    async def hangs() -> None:
        await asyncio.sleep(60)

    async def fine() -> None:
        await asyncio.sleep(0)

    async def go() -> list[bool]:
        return [
            await bounded("fails", fails(), 1.0),
            await bounded("cancelled", cancelled(), 1.0),
            await bounded("hangs", hangs(), 0.05),
            await bounded("fine", fine(), 1.0),
        ]

    started = time.monotonic()
    assert asyncio.run(go()) == [False, False, False, True]
    assert time.monotonic() - started < 2.0


def test_run_does_not_wait_forever_for_a_task_that_ignores_cancellation() -> None:
    async def stubborn() -> None:  # like mode's Service._gather_futures after a crash
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue

    async def main() -> int:
        asyncio.get_running_loop().create_task(stubborn())
        await asyncio.sleep(0)
        return 7

    started = time.monotonic()
    assert lifecycle.run(main(), leftover_s=0.1) == 7
    assert time.monotonic() - started < 2.0


DEADLINE_SCRIPT = """
import threading, time
from app import lifecycle
threading.Thread(target=time.sleep, args=(60,)).start()  # a non-daemon thread, like Faust's
lifecycle.arm_deadline(0.5)
"""


def test_the_deadline_ends_a_process_that_a_non_daemon_thread_holds() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", DEADLINE_SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert "recsys: error: still running" in done.stderr
    assert "exiting now without a clean shutdown" in done.stderr


HELD_SCRIPT = """
import threading, time
from app import lifecycle
threading.Thread(target=time.sleep, args=(60,), name="faust-like").start()
lifecycle.exit_if_held(3)
print("not reached")
"""


def test_a_process_held_by_a_non_daemon_thread_exits_with_its_code_at_once() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", HELD_SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 3
    assert "not reached" not in done.stdout
    assert "1 thread(s) still running after the stop (faust-like)" in done.stderr
