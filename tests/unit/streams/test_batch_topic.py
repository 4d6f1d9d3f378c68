"""``RecordBatches``: the conductor's queue protocol on one side, whole batches on the other."""

from __future__ import annotations

import asyncio

from streams.batch_topic import RecordBatches


async def test_take_returns_what_arrived_in_order_and_empties_the_buffer() -> None:
    q = RecordBatches(maxsize=10)
    for n in range(4):
        q.put_nowait_enhanced(n, on_pressure_high=None, on_pressure_drop=None)
    assert q.qsize() == 4
    assert await q.take(100) == [0, 1, 2, 3]
    assert q.empty()


async def test_take_returns_at_most_max_records_and_keeps_the_rest_in_order() -> None:
    q = RecordBatches(maxsize=10)
    for n in range(5):
        q.put_nowait_enhanced(n)
    assert await q.take(2) == [0, 1]
    assert await q.take(2) == [2, 3]
    assert await q.take(2) == [4]


async def test_take_waits_for_the_first_record() -> None:
    q = RecordBatches(maxsize=10)
    taker = asyncio.ensure_future(q.take(10))
    await asyncio.sleep(0)
    assert not taker.done()
    q.put_nowait_enhanced("a")
    q.put_nowait_enhanced("b")  # both arrive before the taker runs: one batch
    assert await taker == ["a", "b"]
    again = asyncio.ensure_future(q.take(10))  # an old wake-up must not return nothing
    await asyncio.sleep(0)
    assert not again.done()
    q.put_nowait_enhanced("c")
    assert await again == ["c"]


async def test_a_full_buffer_makes_put_wait_until_a_take_makes_room() -> None:
    q = RecordBatches(maxsize=2)
    q.put_nowait_enhanced(1)
    assert not q.full()
    q.put_nowait_enhanced(2)
    assert q.full()
    putter = asyncio.ensure_future(q.put(3))
    await asyncio.sleep(0)
    assert not putter.done()  # the conductor (and so the fetcher) waits here
    assert await q.take(1) == [1]
    await putter
    assert await q.take(10) == [2, 3]


async def test_clear_drops_the_buffer_and_frees_a_waiting_put() -> None:
    q = RecordBatches(maxsize=1)
    q.put_nowait_enhanced("stale")
    putter = asyncio.ensure_future(q.put("fresh"))
    await asyncio.sleep(0)
    q.clear()  # flow control resumed after a rebalance
    await putter
    assert await q.take(10) == ["fresh"]
