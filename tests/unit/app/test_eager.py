"""``app.eager``: a coroutine's first step at once, the rest on the loop, with its results,
exceptions and cancellation intact; and the consumer mixin that uses it."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest
from mode.services import WaitResults

from app import eager
from app.faust_app import EagerDelivery


async def test_a_coroutine_that_never_suspends_finishes_in_the_step() -> None:
    ran: list[str] = []

    async def deliver() -> int:
        ran.append("body")
        return 7

    assert eager.step(deliver()) == (True, 7)
    assert ran == ["body"]


async def test_a_suspended_coroutine_continues_where_it_stopped() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    trace: list[str] = []

    async def deliver() -> str:
        trace.append("before")
        await asyncio.sleep(0)  # a bare yield to the loop
        trace.append("after sleep")
        got = await gate
        trace.append(f"got {got}")
        return got.upper()

    done, rest = eager.step(deliver())
    assert not done
    assert trace == ["before"]  # ran up to its first suspension, no further
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert trace == ["before", "after sleep"]
    gate.set_result("ok")
    assert await task == "OK"
    assert trace == ["before", "after sleep", "got ok"]


async def test_exceptions_propagate_before_and_after_the_suspension() -> None:
    async def fails_at_once() -> None:
        raise ValueError("first step")

    with pytest.raises(ValueError, match="first step"):
        eager.step(fails_at_once())

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    done, rest = eager.step(fails_later())
    assert not done
    with pytest.raises(KeyError, match="later"):
        await rest


async def test_an_exception_the_coroutine_handles_does_not_escape() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[int] = loop.create_future()

    async def deliver() -> str:
        try:
            await gate
        except RuntimeError as exc:
            await asyncio.sleep(0)  # suspends again after handling it
            return f"handled {exc}"
        return "not reached"

    done, rest = eager.step(deliver())
    assert not done
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    gate.set_exception(RuntimeError("boom"))
    assert await task == "handled boom"


async def test_cancelling_the_rest_cancels_the_coroutine_where_it_waits() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    trace: list[str] = []

    async def deliver() -> None:
        try:
            await gate
        finally:
            trace.append("cleaned up")

    done, rest = eager.step(deliver())
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert trace == ["cleaned up"]
    assert gate.cancelled()  # the future it waited on was cancelled, as with ``await``


class _Event:
    def __init__(self) -> None:
        self.flag = False

    def is_set(self) -> bool:
        return self.flag

    async def wait(self) -> None:
        await asyncio.sleep(3600)


class _FaustPath:
    """Stands in for mode's ``Service.wait_first``: records what reached it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        self.calls.append(coros)
        result = await coros[0]
        for other in coros[1:]:
            other.close()
        return WaitResults([coros[0]], [result], False)


class _Consumer(EagerDelivery, _FaustPath):
    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = _Event()
        self._stopped = _Event()
        self._crashed = _Event()


async def _quick(value: int) -> int:
    return value


async def _slow(value: int) -> int:
    await asyncio.sleep(0)
    return value


async def test_a_delivery_that_finishes_at_once_skips_faust_race_and_closes_the_other() -> None:
    consumer = _Consumer()
    delivery = _quick(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a never-awaited coroutine warns at collection
        result = await consumer.wait_first(delivery, consumer.suspend_flow.wait())
        gc.collect()
    assert result == WaitResults([delivery], [3], False)
    assert consumer.calls == []


async def test_a_delivery_that_suspends_goes_through_faust_race_with_its_rest() -> None:
    consumer = _Consumer()
    result = await consumer.wait_first(_slow(4), consumer.suspend_flow.wait())
    assert result.results == [4]
    assert len(consumer.calls) == 1  # Faust's race ran, once, on the continued delivery


@pytest.mark.parametrize("flag", ["suspend_flow", "_stopped", "_crashed"])
async def test_a_suspended_flow_or_stopped_service_keeps_faust_path(flag: str) -> None:
    consumer = _Consumer()
    getattr(consumer, flag).flag = True
    delivery = _quick(5)
    result = await consumer.wait_first(delivery, consumer.suspend_flow.wait())
    assert result.results == [5]
    assert consumer.calls[0][0] is delivery  # handed over unstarted


async def test_other_call_shapes_keep_faust_path() -> None:
    consumer = _Consumer()
    delivery = _quick(6)
    await consumer.wait_first(delivery, consumer.suspend_flow.wait(), timeout=1.0)
    assert consumer.calls[0][0] is delivery
