import asyncio
import inspect

import pytest
from faust.exceptions import NotReady

from streams.timers import quiet_on_stop


class FakeApp:
    def __init__(self, stopping: bool) -> None:
        self.should_stop = stopping


def not_ready_body(calls: list[str]):  # type: ignore[no-untyped-def]
    async def publish() -> None:
        calls.append("ran")
        raise NotReady("Producer service not yet started")

    return publish


def test_not_ready_while_stopping_is_swallowed() -> None:
    calls: list[str] = []
    body = quiet_on_stop(FakeApp(stopping=True))(not_ready_body(calls))
    asyncio.run(body())
    assert calls == ["ran"]


def test_not_ready_while_running_still_raises() -> None:
    body = quiet_on_stop(FakeApp(stopping=False))(not_ready_body([]))
    with pytest.raises(NotReady):
        asyncio.run(body())


def test_other_errors_raise_even_while_stopping() -> None:
    async def broken() -> None:
        raise ValueError("bug")

    with pytest.raises(ValueError):
        asyncio.run(quiet_on_stop(FakeApp(stopping=True))(broken)())


def test_faust_still_sees_a_timer_without_parameters() -> None:
    # Faust passes the app to a timer body that declares a parameter.
    async def publish() -> None:
        return None

    wrapped = quiet_on_stop(FakeApp(stopping=False))(publish)
    assert not inspect.signature(wrapped).parameters
    assert wrapped.__name__ == "publish"
