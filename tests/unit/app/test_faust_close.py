"""A consumer closed during a rebalance-while-stopping closes in order on its own loop."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from app.faust_app import close_in_order


def test_coordinator_then_client_close_on_the_consumer_loop() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    calls: list[tuple[str, asyncio.AbstractEventLoop]] = []
    done = threading.Event()

    async def coordinator_close() -> None:
        await asyncio.sleep(0.01)  # a LeaveGroup round trip: the client must wait for it
        calls.append(("coordinator", asyncio.get_running_loop()))

    async def client_close() -> None:
        calls.append(("client", asyncio.get_running_loop()))
        done.set()

    consumer = SimpleNamespace(
        _coordinator=SimpleNamespace(close=coordinator_close),
        _client=SimpleNamespace(close=client_close),
    )
    try:
        close_in_order(consumer, loop)
        assert done.wait(5.0)
        assert calls == [("coordinator", loop), ("client", loop)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5.0)
        loop.close()


def test_nothing_is_scheduled_on_a_loop_that_stopped() -> None:
    loop = asyncio.new_event_loop()
    called: list[str] = []

    async def close() -> None:  # pragma: no cover - must not run
        called.append("close")

    consumer = SimpleNamespace(
        _coordinator=SimpleNamespace(close=close), _client=SimpleNamespace(close=close)
    )
    close_in_order(consumer, loop)  # never awaited would warn (an error under pytest)
    loop.close()
    close_in_order(consumer, loop)
    assert called == []
