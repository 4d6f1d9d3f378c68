"""The Faust app object, configured from settings for the embedded broker and real Kafka.

Deliberate changes to Faust. Its producer flush (run before every offset commit)
returns only when every record handed to it is acknowledged (``_DrainingProducer``).
Input partitions without a committed offset are read from their start after a
rebalance (``seek_to_committed``), not from wherever the client's fetcher got to.
Table recovery,
which asks for each changelog partition's end offset, no longer trusts ListOffsets
alone: the embedded broker under-reports it (see ``schemas.highwater``), which made a
restarted worker stop recovering a few records early. Our consumer thread takes the
larger of ListOffsets and the fetch response's high-water mark, exact on every broker.
And a rebalance that arrives while the app stops closes the consumer in order on the
consumer's own loop (``close_in_order``): Faust closes its client and its group
coordinator at the same time on the app's loop, so the coordinator's LeaveGroup could
open a fresh connection on the already closed client, which nobody closed again. (A
CI run once failed on an "Unclosed AIOKafkaConnection" at garbage collection; this is
the leaking path we found, not reproduced.) Each fetched record reaches the streams
without the four tasks Faust spends on it when its delivery does not suspend
(``EagerDelivery``).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.sensors.monitor import Monitor
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.services import WaitResults

from app import eager
from app.settings import Settings
from schemas.follow import FETCH_MAX_WAIT_MS
from schemas.highwater import fetch_highwaters


class _FetchHighwaterThread(faust_aiokafka.AIOKafkaConsumerThread):
    bootstrap = ""
    fetch_max_wait_ms = FETCH_MAX_WAIT_MS

    def _create_worker_consumer(self, transport: Any) -> Any:
        """Faust's worker consumer with our fetch wait (Faust hard-codes 1,500 ms, which
        the embedded broker holds in full: ``schemas.follow``). aiokafka reads the
        attribute when the consumer starts its fetcher."""
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer

    def close(self) -> None:
        """Close for shutdown, in order, on the loop the consumer runs on."""
        consumer = self._consumer
        if consumer is not None:
            consumer._closed = True
            close_in_order(consumer, self.thread_loop)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek to the committed offsets, and partitions without one to their start.

        aiokafka seeks only the partitions with a committed offset > 0 and leaves the
        others wherever its fetcher got to. During table recovery that can be the end
        of the partition: a worker SIGKILLed before its first commit left its
        successor positioned past every record it never processed (seen in the live
        join's SIGKILL test: it stalled, nothing lost on the topic but nothing read).
        "No commit" now means "from the log start", as ``auto_offset_reset=earliest``
        promises; the workers' state skips what it already applied (offset-keyed).
        """
        committed: Mapping[Any, int] = await super().seek_to_committed()
        fresh = [
            tp
            for tp, offset in committed.items()
            if not offset and not tp.topic.endswith("-changelog")
        ]
        if fresh:
            client = self._ensure_consumer()
            await self.call_thread(client.seek_to_beginning, *fresh)
        return committed

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        listed = await super()._highwaters(partitions)
        if self.consumer.in_transaction or not partitions:
            return listed
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        fetched = await fetch_highwaters(self.bootstrap, tps)
        return {
            tp: max(listed.get(tp, 0), fetched[TopicPartition(tp.topic, tp.partition)])
            for tp in partitions
        }


def close_in_order(consumer: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Schedule the group coordinator's close, then the client's, on ``loop``.

    Nothing is scheduled on a loop that no longer runs: the consumer thread's own
    stop closes the consumer then, and a coroutine handed to a stopped loop would
    never run (nor be awaited).
    """

    async def close() -> None:
        await consumer._coordinator.close()
        await consumer._client.close()

    if loop.is_running() and not loop.is_closed():
        asyncio.run_coroutine_threadsafe(close(), loop)


class _DrainingProducer(faust_aiokafka.Producer):
    """Faust's producer, with a ``flush`` that returns only when every record handed
    to it so far is acknowledged by Kafka.

    Faust flushes its producer before it commits input offsets, but that flush only
    waits until its buffer queue looks empty (giving up after 0.1 s without a sent
    message) and then for aiokafka's batches — a record already taken off the queue
    but not yet in aiokafka's accumulator is in neither. Under load the offsets were
    then committed ahead of table changelog records, and a crash lost state (seen in
    the SIGKILL test under CI load). So every future handed to ``send_soon`` (table
    changelog writes) is tracked until it completes, and ``flush`` awaits them all.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._unacked: set[asyncio.Future[Any]] = set()

    def send_soon(self, fut: Any) -> None:
        self._unacked.add(fut)
        fut.add_done_callback(self._unacked.discard)
        super().send_soon(fut)

    async def flush(self) -> None:
        while self.buffer.size:
            await self.buffer.flush()
        await super().flush()
        while self._unacked:
            # A failed send raises here, so the offsets are not committed.
            await asyncio.gather(*list(self._unacked))


class EagerDelivery:
    """Consumer mixin: a record's delivery to the streams runs at once (``app.eager``).

    Faust's fetcher awaits ``wait_first(deliver(record), suspend_flow.wait())`` for every
    record, which costs four tasks and an ``asyncio.wait``, and delivering nearly always
    finishes without suspending. Here the delivery runs first; only one that suspends (a
    full stream buffer, flow control during a rebalance, a full producer buffer) goes
    through Faust's race, continued where it stopped. With the flow suspended, the
    service stopped or crashed, or any other call shape, it is Faust's path unchanged.
    Measured with ``bench/live_join.py``: a no-op agent went from ~3,800 to ~8,100 events/s
    on this machine; more than half of Faust's own per-record cost was this race.
    """

    eager_delivery = True

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        if (
            self.eager_delivery
            and timeout is None
            and len(coros) == 2
            and asyncio.iscoroutine(coros[0])
            and not self.suspend_flow.is_set()  # type: ignore[attr-defined]
            and not self._stopped.is_set()  # type: ignore[attr-defined]
            and not self._crashed.is_set()  # type: ignore[attr-defined]
        ):
            first, other = coros
            done, value = eager.step(first)
            if done:
                if asyncio.iscoroutine(other):
                    other.close()  # never started: nothing to undo
                return WaitResults([first], [value], False)
            coros = (value, other)
        return await super().wait_first(*coros, timeout=timeout)  # type: ignore[misc, no-any-return]


def _transport_for(
    bootstrap: str, fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS
) -> type[faust_aiokafka.Transport]:
    thread = type(
        "FetchHighwaterThread",
        (_FetchHighwaterThread,),
        {"bootstrap": bootstrap, "fetch_max_wait_ms": fetch_max_wait_ms},
    )

    class Consumer(EagerDelivery, faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return thread(self, loop=self.loop, beacon=self.beacon)  # type: ignore[no-any-return]

    class Transport(faust_aiokafka.Transport):
        pass

    Transport.Consumer = Consumer
    Transport.Producer = _DrainingProducer
    return Transport


class RecsysFaustApp(faust.App):
    """``faust.App`` whose consumer reads end offsets from fetch responses."""

    bootstrap = ""
    fetch_max_wait_ms = FETCH_MAX_WAIT_MS

    def _new_transport(self) -> Any:
        transport = _transport_for(self.bootstrap, self.fetch_max_wait_ms)
        return transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        transport = _transport_for(self.bootstrap, self.fetch_max_wait_ms)
        return transport(self.conf.broker_producer, self)


class LeanMonitor(Monitor):
    """Faust's monitor without its per-record bookkeeping (events/s, latency deques, table
    and send counters): nothing here reads it, and each hook runs for every record —
    measured, about 5 % of a no-op agent's time per event. Rebalance, commit and
    assignment hooks keep Faust's behaviour."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_table_del(self, table: Any, key: Any) -> None:
        return None

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> None:
        return None

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        return None

    def track_tp_end_offset(self, tp: Any, offset: int) -> None:
        return None


def tune_gc(gen0: int) -> None:
    """Collect the young generation every ``gen0`` container allocations (0: Python's 700).

    A worker allocates a few containers per record and keeps many of them in its
    tables, so at Python's threshold the collector ran ~17 times per 1,000 records and
    every tenth young collection walked the middle generation too: 15-20 % of the
    stream-state worker's CPU on bench/stream_state.py's backlog (``gc.callbacks``),
    0.7 s of ~4 s. At 50,000 it ran 3-4 times for 43,000 records. Garbage is still freed
    by reference counting at once; only cycles wait for the next collection.
    """
    if gen0 > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)


def make_faust_app(settings: Settings, *, lean_monitor: bool = True) -> faust.App:
    """One Faust app; its local state lives under ``settings.data_dir``, not the CWD.
    Also sets the process's collector threshold for a worker (``tune_gc``)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tune_gc(settings.gc_gen0)
    app = RecsysFaustApp(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store=settings.store,
        datadir=str(settings.data_dir / f"{settings.app_id}-data"),
        # The embedded broker makes the first group join wait half the session timeout.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # acks=0 breaks aiokafka on the embedded broker; keep the Kafka-standard default.
        producer_acks=-1,
        web_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="json",
        Monitor=LeanMonitor if lean_monitor else Monitor,
    )
    app.bootstrap = settings.bootstrap
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    return app
