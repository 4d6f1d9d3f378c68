"""``serving.loop.keep_frozen``: the first freeze waits for readiness, later ones follow
the interval; and what a freeze is for, measured on a small heap."""

from __future__ import annotations

import asyncio
import gc

from serving.loop import freeze_heap, keep_frozen


async def test_freezes_once_ready_and_then_at_the_interval() -> None:
    calls: list[float] = []
    ready_at: list[float] = []
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(keep_frozen(lambda: bool(ready_at), 0.005, 0.02,
                                           lambda: calls.append(loop.time())))
    await asyncio.sleep(0.05)
    assert calls == []  # not ready: nothing frozen yet
    ready_at.append(loop.time())
    async with asyncio.timeout(5):  # event-driven, so a loaded machine only makes it slower
        while len(calls) < 4:
            await asyncio.sleep(0.005)
    task.cancel()
    assert calls[0] >= ready_at[0]
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert min(gaps) >= 0.019  # one per interval, never sooner


async def test_without_an_interval_it_freezes_once() -> None:
    calls: list[int] = []
    await asyncio.wait_for(keep_frozen(lambda: True, 0.01, 0.0, lambda: calls.append(1)), 1)
    assert calls == [1]


def test_frozen_objects_leave_the_collectors_walk() -> None:
    before = gc.get_freeze_count()
    try:
        heap = [[n] for n in range(20_000)]  # containers the collector would walk
        assert freeze_heap() >= before + 20_000
        assert not any(x is heap for x in gc.get_objects(2))  # out of the oldest generation
    finally:
        gc.unfreeze()
