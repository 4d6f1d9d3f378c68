"""Run a coroutine's first step at once, and hand whatever remains to the event loop.

Faust's consumer hands every record to its streams through ``Service.wait_first``, which
wraps the delivery in a task and races it against three more tasks (flow suspended,
service stopped, service crashed): four tasks and an ``asyncio.wait`` per record. The
delivery almost never suspends (it puts the record on a stream's queue), so
``app.faust_app`` first runs it as far as it goes without the loop (``step``), and
only a delivery that did suspend goes through the race, continued where it stopped
(``Resumed``).
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Resumed:
    """An awaitable that continues ``coro``, suspended on ``pending`` (what its last step
    yielded to the loop): what the loop sends or throws in goes on to ``coro``."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, None, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 — forwarded, as ``await`` would
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(None)
                except StopIteration as stop:
                    return stop.value


def step(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coro`` until it finishes or first suspends.

    ``(True, result)`` when it finished; ``(False, rest)`` when it suspended, where
    ``rest`` is a coroutine to await (or schedule) for the remainder and its result.
    An exception raised before it suspends propagates from here.
    """
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, _rest(Resumed(coro, pending))


async def _rest(resumed: Resumed) -> Any:
    return await resumed
