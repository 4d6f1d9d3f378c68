"""Timer bodies that end quietly when the worker stops.

Faust stops its producer before its timers: a timer that sends (view snapshots, ticks)
in that window raises ``NotReady``, which Faust treats as a crash of the whole app in
the middle of its stop. What such a timer would have sent is rebuilt by the partitions'
next owner on recovery, so while stopping the error is only logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.exceptions import NotReady

log = logging.getLogger(__name__)
Body = Callable[[], Awaitable[None]]


def quiet_on_stop(app: Any) -> Callable[[Body], Body]:
    """Decorate a timer body of ``app``: ``NotReady`` while ``app.should_stop`` is logged,
    otherwise re-raised."""

    def wrap(fn: Body) -> Body:
        @functools.wraps(fn)
        async def run() -> None:
            try:
                await fn()
            except NotReady:
                if not app.should_stop:
                    raise
                log.info("%s skipped: the worker is stopping", fn.__name__)

        return run

    return wrap
