"""Process-level tuning of a serving replica: the event loop and the garbage collector.

``install()`` makes uvloop the asyncio event loop policy when it is installed (it is a
dependency; a platform without it keeps asyncio's loop). Call it once, before the loop
is created (before ``web.run_app`` / ``asyncio.run``).

``freeze_heap()`` moves every object alive now into the collector's permanent
generation: once the views are loaded the heap holds tens of thousands of long-lived
containers — catalog entries, neighbour lists, parsed config — that every full
collection would traverse while requests wait (bench/serving.py's heap, 10k items and
200k pairs: 37 ms per full collection on the bench machine; 0 ms after the freeze).
Objects created later are collected as usual. ``freeze_when_ready(app, ready)`` does it
from the application's lifecycle, once ``ready()`` (e.g. ``ViewReader.ready``) is true.

Views keep changing after that: every updated neighbour list, snapshot or catalog entry
is a new unfrozen object, and full collections grow back with them (the bench heap:
12 ms after a quarter of the co-visitation view was replaced, 39 ms after all of it).
With ``refreeze_s`` the heap is collected and frozen again at that interval, so a
collection only ever walks one interval's changes. Frozen objects are still freed by
reference counting when dropped; only reference cycles among them would wait (the views
hold none). ``recsys serve`` uses both (``RECSYS_GC_REFREEZE_S``, default 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

log = logging.getLogger(__name__)


def install() -> bool:
    """Use uvloop for loops created from now on; False when it is not installed."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def freeze_heap() -> int:
    """Collect once, then exempt everything alive from future collections; the count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def keep_frozen(ready: Callable[[], bool], poll_s: float, refreeze_s: float = 0.0,
                      freeze: Callable[[], object] = freeze_heap) -> None:
    """Freeze once ``ready()`` holds, then every ``refreeze_s`` seconds (0: only once)."""
    while not ready():
        await asyncio.sleep(poll_s)
    frozen = freeze()
    log.info("heap frozen out of the garbage collector (%s objects)%s", frozen,
             f"; again every {refreeze_s:g} s" if refreeze_s > 0 else "")
    while refreeze_s > 0:
        await asyncio.sleep(refreeze_s)
        freeze()


def freeze_when_ready(app: web.Application, ready: Callable[[], bool] | None = None,
                      poll_s: float = 0.5, refreeze_s: float = 0.0) -> None:
    """Freeze the heap once the app has started and ``ready()`` holds (at once without
    one), and again every ``refreeze_s`` seconds when that is > 0; register before the
    app starts (``web.run_app`` or ``AppRunner.setup``)."""

    async def ctx(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(keep_frozen(ready or (lambda: True), poll_s, refreeze_s),
                                   name="freeze-heap")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(ctx)
