"""Process lifecycle of the long-running commands (``recsys up``, ``worker``, ``serve``).

A process of ours stops for one of two reasons: SIGINT/SIGTERM (``stop_on_signals``),
or a part of it failed while running — the Faust worker crashed, the embedded broker
exited (``watch`` polls the checks the caller gives it). Either way it stops in
bounded steps (``bounded``), and it always ends: once stopping begins a daemon timer
(``arm_deadline``) ends the process with ``os._exit`` after ``STOP_DEADLINE_S`` if
something still holds it — Faust's consumer thread is not a daemon thread, and after a
worker crash Faust's own ``stop()`` fails half-way and leaves tasks that ignore
cancellation, so ``asyncio.run`` (and the interpreter's exit) waited for them forever.
``run`` is ``asyncio.run`` without that unbounded wait for leftover tasks.

Errors defined here (under ``schemas.errors.RecsysError``)::

    RecsysError
    └── WorkerCrashedError   the stream worker of this process crashed while running
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from app.broker import EmbeddedBroker
from schemas.errors import BrokerError, RecsysError

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_DEADLINE_S = 10.0
"""From the stop request to the end of the process, whatever still runs (documented)."""
LEFTOVER_S = 1.0
"""How long ``run`` waits for tasks still pending after the main coroutine ended."""
FORCED_EXIT_CODE = 1

Check = Callable[[], RecsysError | None]
"""A health check of a running process: ``None`` while fine, else the error it stops on."""


class WorkerCrashedError(RecsysError):
    """The stream worker of this process crashed; a supervisor should restart it."""


_deadline: threading.Timer | None = None


def _force_exit(budget_s: float, started: float) -> None:
    message = (
        f"recsys: error: still running {time.monotonic() - started:.1f}s after the stop "
        f"began (budget {budget_s:g}s); exiting now without a clean shutdown"
    )
    log.error("%s", message.removeprefix("recsys: error: "))
    with contextlib.suppress(Exception):
        print(message, file=sys.stderr, flush=True)
    os._exit(FORCED_EXIT_CODE)


def arm_deadline(budget_s: float = STOP_DEADLINE_S) -> None:
    """End the process with ``os._exit`` ``budget_s`` from now unless it ended before.

    Idempotent: the first call sets the deadline.
    """
    global _deadline
    if _deadline is not None:
        return
    timer = threading.Timer(budget_s, _force_exit, args=(budget_s, time.monotonic()))
    timer.daemon = True  # it must never be what keeps the process alive
    timer.name = "recsys-stop-deadline"
    timer.start()
    _deadline = timer


def disarm_deadline() -> None:
    """Cancel the deadline (tests; a process that goes on after a stop)."""
    global _deadline
    timer, _deadline = _deadline, None
    if timer is not None:
        timer.cancel()


def stop_on_signals(deadline_s: float = STOP_DEADLINE_S) -> asyncio.Event:
    """An event set by the first SIGINT/SIGTERM, which also arms the stop deadline; a
    second signal ends the process at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.error("second %s while stopping: exiting now", sig.name)
            os._exit(FORCED_EXIT_CODE)
        log.info("%s: stopping", sig.name)
        stop.set()
        arm_deadline(deadline_s)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return stop


async def first_or_stop(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or ``None`` when ``stop`` is set first (``work`` is then
    cancelled and given ``STOP_DEADLINE_S`` to clean up after itself)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.wait({task}, timeout=STOP_DEADLINE_S)
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.warning("interrupted start failed: %r", task.exception())
    return None


async def watch(
    stop: asyncio.Event, checks: Sequence[Check], interval_s: float = 0.5
) -> RecsysError | None:
    """Wait until ``stop`` is set (``None``) or a check reports a failure (its error)."""
    while not stop.is_set():
        for check in checks:
            reason = check()
            if reason is not None:
                return reason
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
    return None


def worker_failure(fapp: Any) -> Check:
    """A check that reports a crashed Faust app, naming its crash reason."""

    def check() -> RecsysError | None:
        if not getattr(fapp, "crashed", False):
            return None
        reason = getattr(fapp, "crash_reason", None)
        why = f"{type(reason).__name__}: {reason}" if reason is not None else "unknown reason"
        return WorkerCrashedError(f"the stream worker crashed ({why})")

    return check


def broker_failure(broker: EmbeddedBroker) -> Check:
    """A check that reports the embedded broker's process gone (polled by its PID)."""
    pid = broker.pid

    def check() -> RecsysError | None:
        code = broker.returncode
        if code is None:
            return None
        return BrokerError(f"the embedded broker (pid {pid}) exited with code {code}")

    return check


async def bounded(what: str, step: Coroutine[Any, Any, object], timeout_s: float) -> bool:
    """Run one stop step for at most ``timeout_s``; log (never raise) what went wrong.

    Runs as its own task and is waited for with ``asyncio.wait``, so neither a failure
    nor a ``CancelledError`` it raises (aiokafka's consumer ``stop()`` re-raises the
    cancellation of its fetch task) ends the caller's shutdown. True when it finished.
    """
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        log.warning("%s did not finish in %.1fs; left behind", what, timeout_s)
        return False
    if task.cancelled():
        log.warning("%s was cancelled", what)
        return False
    exc = task.exception()
    if exc is not None:
        log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        log.debug("%s failed", what, exc_info=exc)
        return False
    return True


def exit_if_held(code: int) -> None:
    """End the process now with ``code`` if a non-daemon thread would keep it alive.

    After an unclean stop (a worker whose ``stop()`` was left behind) Faust's consumer
    thread, not a daemon thread, still runs, and the interpreter would wait for it at
    exit until the stop deadline; the outcome is known already, so say so and go.
    """
    held = [
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if not held:
        return
    log.warning(
        "%d thread(s) still running after the stop (%s); exiting without waiting for them",
        len(held), ", ".join(held),
    )
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run(main: Coroutine[Any, Any, T], *, leftover_s: float = LEFTOVER_S) -> T:
    """``asyncio.run(main)``, except that tasks still pending once ``main`` ended get
    ``leftover_s`` after their cancellation, not forever, and the default executor's
    threads are not waited for (the stop deadline covers what they hold)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    error: BaseException | None = None
    try:
        result = loop.run_until_complete(main)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the cleanup
        error = exc
    # outside the except block: the leftovers' cancellation tracebacks (Faust logs
    # each) would otherwise carry ``error`` as their context
    try:
        left = _cancel_leftovers(loop, leftover_s)
        if left:
            log.warning("%d task(s) ignored cancellation; abandoned", len(left))
        for task in left:
            # said once above; asyncio would log each again when collected
            task._log_destroy_pending = False  # type: ignore[attr-defined]
    finally:
        asyncio.set_event_loop(None)
        loop.close()
        # what the closed loop's clients complain about when collected ("Unclosed
        # AIOKafkaProducer") is logged now, before the caller's last word
        gc.collect()
    if error is not None:
        raise error
    return result


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, budget_s: float) -> set[asyncio.Task[Any]]:
    """Cancel every pending task, again for tasks started meanwhile (Faust's supervisors
    restart agents they see cancelled), for at most ``budget_s``; the tasks left."""
    deadline = time.monotonic() + budget_s
    while True:
        pending = {t for t in asyncio.all_tasks(loop) if not t.done()}
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            return pending
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.wait(pending, timeout=remaining))
