"""``KafkaGauges``: dead letters and the stream workers' consumer lag, read from Kafka.

The live view carries neither, so the serving app reads both from the broker every
``interval_s`` (2 s):

* ``dead_letters`` = Σ over the partitions of ``recsys.deadletter.v1`` of the high-water
  mark: every record ever dead-lettered. ``/metrics`` exports it as a counter
  (``recsys_live_dead_letters_total``), and a counter must not fall when retention
  deletes old letters, which "high-water − log start" would.
* ``lag_records`` = Σ over the partitions of the input topics (exposures, outcomes,
  assignments, items: ``schemas.topics.INPUT_TOPICS``, which the workers decode) of
  ``max(0, high-water − max(committed, log start))`` for the workers' consumer group
  (the Faust app id). A partition with no commit counts from its log start, as does a
  commit below it: the worker resumes there (``auto_offset_reset`` is ``earliest``).
  On the compacted items topic this counts offsets, so compaction gaps make it an upper
  bound.

High-water marks come from fetch responses (``schemas.highwater``): ListOffsets
under-reports them on the embedded broker. Committed offsets come from
``AIOKafkaConsumer.committed`` on a consumer of the workers' group that is never
subscribed nor assigned partitions: it sends FindCoordinator and OffsetFetch only, never
JoinGroup, so it is no member of the group and triggers no rebalance
(``tests/integration/test_live_gauges.py`` checks the requests).
``AIOKafkaAdminClient.list_consumer_group_offsets`` fails to decode the embedded
broker's answer.

A failed reading (broker down) keeps the last values and logs a warning at most once a
minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas import topics
from schemas.errors import BrokerError
from schemas.highwater import fetch_highwaters
from serving.tasks import cancel_and_wait

log = logging.getLogger(__name__)
K = TypeVar("K")
READ_ERRORS = (KafkaError, BrokerError, OSError, TimeoutError)
"""What a broker that is down or slow raises; anything else is logged with its traceback."""


# -- the arithmetic (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GaugeValues:
    dead_letters: int = 0
    lag_records: int = 0


@dataclass(frozen=True)
class Offsets:
    """One reading of the broker, per partition."""

    high: Mapping[TopicPartition, int]
    """Input topics: high-water marks from fetch responses."""
    log_start: Mapping[TopicPartition, int]
    """Input topics: log start offsets (ListOffsets earliest)."""
    committed: Mapping[TopicPartition, int | None]
    """Input topics: the group's committed offset (the next to read); None = no commit."""
    dead_letter_high: Mapping[TopicPartition, int]
    """Dead-letter topic: high-water marks from fetch responses."""


def consumer_lag(
    high: Mapping[K, int], log_start: Mapping[K, int], committed: Mapping[K, int | None]
) -> int:
    """Σ_p max(0, high_p − max(committed_p, start_p)); no commit → start_p (start 0 if unknown)."""
    total = 0
    for tp, hw in high.items():
        start = log_start.get(tp, 0)
        done = committed.get(tp)
        position = start if done is None else max(done, start)
        total += max(hw - position, 0)
    return total


def dead_letter_count(high: Mapping[K, int]) -> int:
    """Σ_p high_p: records ever written to the dead-letter topic."""
    return sum(max(hw, 0) for hw in high.values())


def gauge_values(offsets: Offsets) -> GaugeValues:
    return GaugeValues(
        dead_letters=dead_letter_count(offsets.dead_letter_high),
        lag_records=consumer_lag(offsets.high, offsets.log_start, offsets.committed),
    )


@dataclass
class WarnEvery:
    """``due(now)`` is True at most once per ``period_s``: an outage logs once a minute."""

    period_s: float = 60.0
    _last: float | None = None

    def due(self, now: float) -> bool:
        if self._last is not None and now - self._last < self.period_s:
            return False
        self._last = now
        return True


# -- the Kafka side ------------------------------------------------------------------------


class KafkaGauges:
    """Dead letters and consumer lag, refreshed by a background task every ``interval_s``."""

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        *,
        interval_s: float = 2.0,
        timeout_s: float = 10.0,
        input_topics: Sequence[str] = topics.INPUT_TOPICS,
        dead_letter_topic: str = topics.DEADLETTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.input_topics = tuple(input_topics)
        self.dead_letter_topic = dead_letter_topic
        self.values = GaugeValues()
        self.readings = 0
        """Successful readings so far."""
        self.failing = False
        self._clock = clock
        self._warn = WarnEvery()
        self._admin: AIOKafkaAdminClient | None = None
        self._committed: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    # -- what LiveReader reads --
    @property
    def dead_letters(self) -> int:
        return self.values.dead_letters

    @property
    def lag_records(self) -> int:
        return self.values.lag_records

    # -- Resource --
    async def start(self) -> None:
        """Start the refresh task; it never fails on a broker that is down."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kafka-gauges")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._close()

    # -- reading --
    async def refresh(self) -> GaugeValues:
        """Read the broker once and update ``values``; raises on a failed reading."""
        offsets = await asyncio.wait_for(self.read_offsets(), self.timeout_s)
        self.values = gauge_values(offsets)
        self.readings += 1
        return self.values

    async def read_offsets(self) -> Offsets:
        admin, group = await self._clients()
        present = set(await admin.list_topics())
        wanted = [t for t in (*self.input_topics, self.dead_letter_topic) if t in present]
        if not wanted:  # no worker has created the topics yet: nothing to count
            return Offsets({}, {}, {}, {})
        described = await admin.describe_topics(wanted)
        tps = sorted(
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        )
        high = await fetch_highwaters(self.bootstrap, tps, timeout_s=self.timeout_s)
        inputs = [tp for tp in tps if tp.topic != self.dead_letter_topic]
        start = await group.beginning_offsets(inputs) if inputs else {}
        committed = await asyncio.gather(*(group.committed(tp) for tp in inputs))
        return Offsets(
            high={tp: high[tp] for tp in inputs},
            log_start=start,
            committed=dict(zip(inputs, committed, strict=True)),
            dead_letter_high={
                tp: hw for tp, hw in high.items() if tp.topic == self.dead_letter_topic
            },
        )

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="recsys-gauges")
            try:
                await admin.start()
            except BaseException:
                await admin.close()
                raise
            self._admin = admin
        if self._committed is None:
            # The workers' group id, but never subscribe() nor assign(): committed() then
            # only looks the coordinator up and fetches offsets — no JoinGroup, no rebalance.
            group = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                client_id="recsys-gauges",
            )
            try:
                await group.start()
            except BaseException:
                await group.stop()
                raise
            self._committed = group
        return self._admin, self._committed

    async def _close(self) -> None:
        admin, self._admin = self._admin, None
        group, self._committed = self._committed, None
        with contextlib.suppress(KafkaError, OSError):
            if group is not None:
                await group.stop()
        with contextlib.suppress(KafkaError, OSError):
            if admin is not None:
                await admin.close()

    async def tick(self) -> None:
        """One refresh; a failure keeps the last values, reconnects next time and warns
        at most once a minute."""
        try:
            await self.refresh()
        except Exception as exc:
            self.failing = True
            await self._close()
            if self._warn.due(self._clock()):
                log.warning(
                    "dead letters / consumer lag not read from %s (keeping dead_letters=%d, "
                    "lag_records=%d): %s",
                    self.bootstrap,
                    self.values.dead_letters,
                    self.values.lag_records,
                    str(exc) or type(exc).__name__,
                    exc_info=not isinstance(exc, READ_ERRORS),
                )
        else:
            if self.failing:
                log.info("dead letters / consumer lag read from %s again", self.bootstrap)
            self.failing = False

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.interval_s)
