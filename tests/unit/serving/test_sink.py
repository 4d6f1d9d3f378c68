"""The exposure path off the hot path: bounded queue, drop counter, drain on stop."""

from __future__ import annotations

import asyncio

from schemas.events import Event, Exposure, ExposureItem
from serving.exposure import Served, exposure_event
from serving.request import RequestContext, UserRef
from serving.sink import InMemorySink, QueueSink


def exposure(n: int) -> Exposure:
    return Exposure(f"r{n}", "u", "2026-01-01T00:00:00Z", (ExposureItem("a", 1),))


class SlowPublisher:
    def __init__(self) -> None:
        self.sent: list[Event] = []
        self.release = asyncio.Event()
        self.flushed = 0
        self.fail_on: set[str] = set()

    async def send(self, event: Event) -> None:
        await self.release.wait()
        if event.key() in self.fail_on:
            raise RuntimeError("broker said no")
        self.sent.append(event)

    async def flush(self) -> None:
        self.flushed += 1


async def test_emit_never_blocks_and_counts_drops_when_full():
    pub = SlowPublisher()
    sink = QueueSink(pub, maxsize=2)
    await sink.start()
    results = [sink.emit(exposure(n)) for n in range(5)]
    # the drain task has not run yet: 2 fit in the queue, 3 are dropped
    assert results == [True, True, False, False, False]
    assert sink.dropped == 3
    pub.release.set()
    await sink.stop()
    assert [e.key() for e in pub.sent] == ["r0", "r1"]
    assert (sink.sent, sink.failed, pub.flushed) == (2, 0, 1)


async def test_publish_failures_are_counted_not_raised():
    pub = SlowPublisher()
    pub.fail_on = {"r1"}
    pub.release.set()
    sink = QueueSink(pub, maxsize=10)
    await sink.start()
    for n in range(3):
        assert sink.emit(exposure(n))
    await sink.stop()
    assert (sink.sent, sink.failed) == (2, 1)


async def test_in_memory_sink_capacity():
    sink = InMemorySink(capacity=1)
    assert sink.emit(exposure(0)) and not sink.emit(exposure(1))
    assert sink.dropped == 1


def test_exposure_event_fields():
    served = Served("r1", "t1", "home", "2026-01-01T00:00:00.000Z", ("x", "y"), "vip",
                    UserRef(session_id="s1"), RequestContext(locale="fi-FI"),
                    "algo@1", "cfg", "", None, 12.5)
    event = exposure_event(served, "salt")
    assert event.check() is event
    assert [(i.item_id, i.rank) for i in event.items] == [("x", 1), ("y", 2)]
    assert event.context == {"tenant_id": "t1", "surface": "home", "segment": "vip",
                             "algo_version": "algo@1", "config_version": "cfg",
                             "locale": "fi-FI"}
    assert (event.latency_ms, event.error) == (12.5, False)
    assert len(event.user_id) == 64 and event.user_id != "s1"


def test_exposure_latency_is_logged_to_a_tenth_of_a_millisecond():
    """The live join's latency histograms are keyed by value: raw timings never repeat."""
    timings = (1.23456, 1.26, 0.04, 37.95)
    served = [Served("r", "t1", "home", "2026-01-01T00:00:00.000Z", ("x",), latency_ms=t)
              for t in timings]
    assert [exposure_event(s, "salt").latency_ms for s in served] == [1.2, 1.3, 0.0, 38.0]
    assert exposure_event(Served("r", "t1", "home", "2026-01-01T00:00:00.000Z", ("x",)),
                          "salt").latency_ms is None


async def test_a_stuck_broker_never_delays_the_response():
    from tests.unit.serving.app_fixtures import harness

    pub = SlowPublisher()  # never released while requests run
    sink = QueueSink(pub, maxsize=1)
    async with harness(sink=sink) as hs:
        body = {"surface": "home", "k": 1, "user": {"user_id": "u"}}
        statuses = [(await hs.post("/v1/recommend", body)).status for _ in range(3)]
        assert statuses == [200, 200, 200]
        assert sink.dropped >= 1  # the queue of 1 overflowed instead of blocking
        pub.release.set()
    assert pub.sent and all(e.SCHEMA == "exposure.v1" for e in pub.sent)


async def test_resources_start_before_serving_and_stop_after_the_sink():
    from serving.app import create_app
    from serving.config_store import InMemoryConfigStore
    from serving.deps import ServingDeps, ServingSettings
    from serving.views import InMemoryViews

    calls: list[str] = []

    class Res:
        def __init__(self, name: str) -> None:
            self.name = name

        async def start(self) -> None:
            calls.append(f"start {self.name}")

        async def stop(self) -> None:
            calls.append(f"stop {self.name}")

    class Sink(InMemorySink):
        async def start(self) -> None:
            calls.append("start sink")

        async def stop(self) -> None:
            calls.append("stop sink")

    v = InMemoryViews()
    app = create_app(ServingDeps(v, v, Sink(), InMemoryConfigStore(),
                                 ServingSettings(exposure_salt="s"),
                                 resources=(Res("views"), Res("store"))))
    from aiohttp.test_utils import TestClient, TestServer

    client = TestClient(TestServer(app))
    await client.start_server()
    assert calls == ["start views", "start store", "start sink"]
    await client.close()
    assert calls[3:] == ["stop sink", "stop store", "stop views"]


def test_ranked_exposure_items_equal_the_frozen_constructor() -> None:
    from schemas.events import ExposureItem
    from serving.exposure import ranked_items

    ids = [f"i{n}" for n in range(25)]
    built = ranked_items(ids)
    assert built == tuple(ExposureItem(i, n) for n, i in enumerate(ids, start=1))
    assert all(type(x) is ExposureItem for x in built)
    assert hash(built[0]) == hash(ExposureItem("i0", 1))  # frozen: hashable, immutable
    import dataclasses

    import pytest
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].rank = 3  # type: ignore[misc]
    assert ranked_items([]) == ()


def test_generated_request_ids_are_uuid4_hex() -> None:
    import uuid

    from serving.middleware import new_request_id

    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for rid in ids:
        parsed = uuid.UUID(hex=rid)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == rid


class RecordingProducer:
    """aiokafka's producer as ``EventProducer`` sees it: keeps each record it is sent."""

    def __init__(self, **_: object) -> None:
        self.records: list[tuple[str, bytes, bytes]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.records.append((topic, value, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_served_exposure_reaches_kafka_as_the_typed_event_would() -> None:
    """The drain task writes the body from the served values (``send_body``); the record
    on the topic is the one the typed ``Exposure`` encodes to, key and topic included."""
    from schemas.producer import EventProducer
    from schemas.registry import LocalRegistry
    from serving.experiments import Arm
    from serving.exposure import ServedExposure
    from serving.sink_kafka import KafkaEventSink

    made: list[RecordingProducer] = []

    def factory(**options: object) -> RecordingProducer:
        made.append(RecordingProducer(**options))
        return made[-1]

    producer = EventProducer("127.0.0.1:9", registry=LocalRegistry(), producer_factory=factory)
    sink = KafkaEventSink(producer)
    await sink.start()
    served = [
        Served("r1", "t1", "home", "2026-01-01T00:00:00.000Z", ("x", "y"), "vip",
               UserRef(user_id="u1"), RequestContext(locale="fi-FI", device="ios"),
               "algo@1", "cfg", "rules", Arm("exp", "B", assigned_by_server=True), 3.14159),
        Served("r2", "t1", "home", "2026-01-01T00:00:00.000Z", (), error=True),
        # refused by the writer (an empty item id): the typed path rejects it too
        Served("r3", "t1", "home", "2026-01-01T00:00:00.000Z", ("",)),
    ]
    for s in served:
        assert sink.emit(ServedExposure(s, "salt"))
    await sink.stop()
    assert (sink.sent, sink.failed) == (2, 1)
    sent = made[0].records
    assert [(topic, key) for topic, _, key in sent] == [("recsys.exposures.v1", b"r1"),
                                                         ("recsys.exposures.v1", b"r2")]
    for (_, value, _), s in zip(sent, served, strict=False):
        assert value == producer.codec.encode(exposure_event(s, "salt"))
