"""Where served events go, off the hot path: the ``EventSink`` protocol and two sinks.

``emit`` never blocks and never raises: it puts the event on a bounded queue and returns
False (counting a drop) when the queue is full. ``QueueSink`` drains the queue in a
background task into anything with ``async send(event)`` / ``async flush()`` — in
production ``schemas.producer.EventProducer`` **built without a salt**, because the
events already carry pseudonymous user ids. ``InMemorySink`` keeps events for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from schemas.events import Event
from serving.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def emit(self, event: Event) -> bool:
        """Enqueue without blocking; False when the event was dropped."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Drain what is queued (best effort) and release resources."""
        ...


class Publisher(Protocol):
    async def send(self, event: Event) -> Any: ...

    async def flush(self) -> None: ...


class InMemorySink:
    def __init__(self, capacity: int | None = None) -> None:
        self.events: list[Event] = []
        self.capacity = capacity
        self.dropped = 0

    def emit(self, event: Event) -> bool:
        if self.capacity is not None and len(self.events) >= self.capacity:
            self.dropped += 1
            return False
        self.events.append(event)
        return True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class QueueSink:
    """Bounded queue → background task → ``publisher.send``; counts drops and failures."""

    def __init__(self, publisher: Publisher, maxsize: int = 10_000) -> None:
        self.publisher = publisher
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.failed = 0
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def emit(self, event: Event) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="exposure-sink")

    async def _send(self, event: Event) -> None:
        try:
            await self.publisher.send(event)
            self.sent += 1
        except Exception:  # best effort: logged and counted, never raised to a request
            self.failed += 1
            log.exception("could not publish %s %s", event.SCHEMA, event.key())

    async def _drain(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self._send(event)
            finally:
                self.queue.task_done()

    async def stop(self) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), timeout=5.0)
            await cancel_and_wait(self._task)
            self._task = None
        try:
            await self.publisher.flush()
        except Exception:
            log.exception("flushing the event publisher failed")
