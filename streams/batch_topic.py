"""A Faust topic whose records reach one task as batches, without Faust's per-record stream.

An agent's stream handles every record on its own: an ``Event`` is built, the stream's
iterator, processors and sensors run, and ``take_events`` adds a coroutine per record.
Measured on this machine that is about as much CPU as a whole live-join update. A
``BatchTopic`` stays inside Faust — the conductor subscribes it, the consumer fetches,
tracks and commits its offsets, rebalances and flow control apply — but the conductor
delivers each raw ``Message`` to a list (``RecordBatches``), and the task that owns the
topic takes the whole list at once (``batches``) and acks each message when its batch
is done, which is what lets Faust commit its offset.

At a rebalance Faust waits until every delivered message is acked (``wait_empty``), so
the task keeps taking batches while the flow is suspended; when the flow resumes, Faust
clears its stream buffers and the consumer seeks back to the committed offsets — this
queue is cleared with them (``flow_control.manage_queue``), as a stream buffer is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust


class RecordBatches:
    """The buffer the conductor fills, in arrival order; bounded by ``maxsize``: at the
    bound ``full()`` is true and the conductor awaits ``put`` (the fetcher waits)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._records: list[Any] = []
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    # -- the conductor's side (Faust's queue protocol) -----------------------------------
    def full(self) -> bool:
        return len(self._records) >= self.maxsize

    def put_nowait_enhanced(self, value: Any, **_pressure_callbacks: Any) -> None:
        self._records.append(value)
        self._ready.set()
        if len(self._records) >= self.maxsize:
            self._room.clear()

    async def put(self, value: Any) -> None:
        while self.full():
            await self._room.wait()
        self.put_nowait_enhanced(value)

    def clear(self) -> None:
        """Flow control resumed after a rebalance: drop what is buffered (the consumer
        seeks back to the committed offsets and fetches it again)."""
        self._records = []
        self._room.set()

    def qsize(self) -> int:
        return len(self._records)

    def empty(self) -> bool:
        return not self._records

    # -- the task's side -----------------------------------------------------------------
    async def take(self, max_records: int) -> list[Any]:
        """The buffered messages, at most ``max_records``, waiting for at least one."""
        while not self._records:
            self._ready.clear()
            await self._ready.wait()
        records = self._records
        if len(records) <= max_records:
            self._records = []
        else:
            records, self._records = records[:max_records], records[max_records:]
        if len(self._records) < self.maxsize:
            self._room.set()
        return records


BUFFER_MAX = 8000
"""Records buffered per batch topic before the fetcher waits (four 2,000-record batches)."""


class BatchTopic(faust.Topic):
    """Raw bytes topics (any number) delivered to a ``RecordBatches`` of ``maxsize``;
    subscribed with the conductor on creation (create it before the app starts)."""

    def __init__(
        self, app: faust.App, *topics: str, partitions: int, maxsize: int = BUFFER_MAX
    ) -> None:
        # No key/value types: the conductor reuses one decoded event for the channels of
        # a record whose (key_type, value_type) are equal, and a raw-bytes agent topic on
        # the same partition must still get an Event, this one the Message.
        super().__init__(
            app,
            topics=list(topics),
            key_type=None,
            value_type=None,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )
        self.buffer = RecordBatches(maxsize)
        app.flow_control.manage_queue(self.buffer)  # type: ignore[arg-type]  # clear() only
        self.decode = self._message  # type: ignore[method-assign]  # no Event: the Message
        app.topics.add(self)

    @property
    def queue(self) -> RecordBatches:  # type: ignore[override]
        return self.buffer

    async def _message(self, message: Any, *, propagate: bool = False) -> Any:
        return message

    async def put(self, event: Any) -> None:
        await self.buffer.put(event)

    async def batches(self, max_records: int) -> AsyncIterator[list[Any]]:
        """The fetched messages, a list at a time (at most ``max_records``). Each batch is
        acked when the loop asks for the next one — after its body finished — so its
        offsets are committed only then; a body that raises acks nothing."""
        consumer = self.app.consumer
        while True:
            batch = await self.buffer.take(max_records)
            yield batch
            for message in batch:
                message.ack(consumer)
