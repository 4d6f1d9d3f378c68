"""A paced replay in a child process, as production producers are: the worker under test
keeps its core, and the producer's Avro encoding and validation no longer compete with
it in one event loop.

``run_paced`` generates the synthetic log in the child (deterministic by seed), produces
exposures and outcomes merged by time at ``rate`` events/s, and returns when the
child is done, with the ``time.monotonic()`` (system-wide on Linux, so comparable across
processes) at which each outcome was handed to the producer, in produce order, with its
(user_id, item_id, timestamp_ms).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Sent = tuple[float, str, str, int]
"""(monotonic seconds when produced, user_id, item_id, timestamp_ms) of one outcome."""


@dataclass(frozen=True)
class PacedLog:
    requests: int
    users: int = 400
    catalog: int = 500
    seed: int = 9
    start_ms: int = 1_800_000_000_000


def _events(spec: PacedLog) -> list[Any]:
    from app.replay import merge_by_time
    from app.synthetic import generate

    log = generate(
        requests=spec.requests,
        users=spec.users,
        catalog=spec.catalog,
        seed=spec.seed,
        start_ms=spec.start_ms,
        orphan_rate=0.0,
        duplicate_rate=0.0,
    )
    return merge_by_time([log.exposures, log.outcomes])


def _child(spec: PacedLog, bootstrap: str, rate: float, out: Any) -> None:
    from app.replay import replay
    from schemas.events import Outcome
    from schemas.registry import LocalRegistry

    events = _events(spec)
    sent: list[Sent] = []

    def paced() -> Iterator[Any]:
        for e in events:
            if isinstance(e, Outcome):
                sent.append((time.monotonic(), e.user_id, e.item_id, e.timestamp_ms))
            yield e

    asyncio.run(replay(paced(), bootstrap, registry=LocalRegistry(), rate=rate))
    out.send(sent)
    out.close()


async def run_paced(spec: PacedLog, bootstrap: str, rate: float) -> list[Sent]:
    """Produce ``spec``'s log from a child process at ``rate``; the outcomes' send times."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, bootstrap, rate, child), daemon=True)
    proc.start()
    child.close()
    loop = asyncio.get_running_loop()
    try:
        sent: list[Sent] = await loop.run_in_executor(None, parent.recv)
    finally:
        await loop.run_in_executor(None, proc.join, 30)
    if proc.exitcode != 0:
        raise RuntimeError(f"paced producer exited with {proc.exitcode}")
    return sent
