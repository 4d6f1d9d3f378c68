"""EventProducer against an injected fake Kafka producer (no broker in unit tests)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import pytest

from schemas import topics
from schemas.codec import AvroCodec
from schemas.errors import ConfigError, DeliveryError
from schemas.events import Exposure, ExposureItem, InvalidEventError, Item, Outcome
from schemas.producer import EventProducer

CODEC = AvroCodec()
TS = "2025-01-01T00:00:00Z"


class FakeKafka:
    """Records sends; each delivery future is settled by the test (or at once if ``auto``)."""

    def __init__(self, auto: bool = True, **options: Any) -> None:
        self.options = options
        self.auto = auto
        self.records: list[tuple[str, bytes | None, bytes | None]] = []
        self.futures: list[asyncio.Future[Any]] = []
        self.started = self.stopped = False
        self.flushes = 0
        self.send_error: Exception | None = None
        self.start_error: Exception | None = None

    async def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def flush(self) -> None:
        self.flushes += 1

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        if self.send_error is not None:
            raise self.send_error
        self.records.append((topic, key, value))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.auto:
            future.set_result(("metadata", topic))
        self.futures.append(future)
        return future


class Factory:
    def __init__(self, **fake_options: Any) -> None:
        self.fake_options = fake_options
        self.made: list[FakeKafka] = []

    def __call__(self, **options: Any) -> FakeKafka:
        fake = FakeKafka(**self.fake_options, **options)
        self.made.append(fake)
        return fake

    @property
    def kafka(self) -> FakeKafka:
        (fake,) = self.made
        return fake


def decoded(fake: FakeKafka) -> list[tuple[str, bytes | None, Any]]:
    return [
        (topic, key, CODEC.decode(value)) for topic, key, value in fake.records if value is not None
    ]


async def test_typed_mapping_and_keyword_events_go_to_their_topics_keyed() -> None:
    factory = Factory()
    async with EventProducer("k:9092", producer_factory=factory) as producer:
        await producer.exposure(Exposure("r1", "u1", TS, (ExposureItem("i1", 1),)))
        await producer.outcome(
            {"request_id": "r1", "user_id": "u1", "item_id": "i1", "event_type": "click", "ts": TS}
        )
        await producer.assignment(
            experiment_id="e", variant="A", request_id="r1", user_id="u1", ts=TS
        )
        await producer.item(item_id="i1", tenant="t1", tags=("a", "b"), available=True)
        await producer.ranklist(request_id="r2", user_id="u1", ts=TS, items=["i1"])
    sent = decoded(factory.kafka)
    assert [(t, k) for t, k, _ in sent] == [
        (topics.EXPOSURES, b"r1"),
        (topics.OUTCOMES, b"r1"),
        (topics.ASSIGNMENTS, b"r1"),
        (topics.ITEMS, b"i1"),
        (topics.RANKLISTS, b"r2"),
    ]
    assert sent[3][2] == Item("i1", "t1", ("a", "b"), True)
    assert producer.sent == 5 and producer.failed == 0 and producer.pending == 0
    assert factory.kafka.started and factory.kafka.stopped


async def test_keyword_items_may_be_typed_and_ts_defaults_to_now() -> None:
    factory = Factory()
    async with EventProducer("k:9092", producer_factory=factory) as producer:
        await producer.exposure(
            request_id="r1", user_id="u1", items=[ExposureItem("i1", 1, propensity=0.5)]
        )
    ((_, _, event),) = decoded(factory.kafka)
    assert event.items == (ExposureItem("i1", 1, propensity=0.5),)
    assert event.timestamp_ms > 1_700_000_000_000


async def test_with_a_salt_no_raw_user_id_leaves_the_process() -> None:
    factory = Factory()
    raw = "alice@example.com"
    expected = hmac.new(b"s3cret", raw.encode(), hashlib.sha256).hexdigest()
    async with EventProducer("k:9092", salt="s3cret", producer_factory=factory) as producer:
        await producer.exposure(request_id="r1", user_id=raw, ts=TS, items=[])
        await producer.outcome(Outcome("r1", raw, "i1", "click", TS))
        await producer.assignment(
            {"experiment_id": "e", "variant": "B", "request_id": "r1", "user_id": raw, "ts": TS}
        )
    for _topic, key, value in factory.kafka.records:
        assert raw.encode() not in (value or b"") and raw.encode() not in (key or b"")
    assert {event.user_id for _, _, event in decoded(factory.kafka)} == {expected}


@pytest.mark.parametrize(
    "fields",
    [
        {
            "request_id": "r1",
            "user_id": "alice@example.com",
            "item_id": "",
            "event_type": "click",
            "ts": TS,
        },
        {
            "request_id": "r1",
            "user_id": "alice@example.com",
            "item_id": "i1",
            "event_type": "click",
            "ts": TS,
            "alice@example.com": 1,
        },
    ],
)
async def test_validation_errors_do_not_echo_the_raw_user_id_when_salted(
    fields: dict[str, Any],
) -> None:
    factory = Factory()
    async with EventProducer("k:9092", salt="s", producer_factory=factory) as producer:
        with pytest.raises(InvalidEventError) as info:
            await producer.outcome(**fields)
    assert "alice@example.com" not in str(info.value)
    assert factory.kafka.records == []


async def test_invalid_user_id_is_reported_without_its_value() -> None:
    async with EventProducer("k:9092", salt="s", producer_factory=Factory()) as producer:
        with pytest.raises(InvalidEventError, match=r"\$\.user_id: invalid \(value withheld"):
            await producer.outcome(
                request_id="r1", user_id=12345, item_id="i1", event_type="click", ts=TS
            )


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda p: p.outcome(
                request_id="r1", user_id="u", item_id="i", event_type="view", ts=TS
            ),
            r"'view' is not one of",
        ),
        (
            lambda p: p.exposure(Exposure("r1", "u", TS, (ExposureItem("i", 0),))),
            r"\$\.items\[0\]\.rank: 0 is less than",
        ),
        (
            lambda p: p.item(item_id="i", tenant="t", tags=[], available="yes"),
            r"\$\.available: 'yes' is not of type 'boolean'",
        ),
        (
            lambda p: p.assignment(
                experiment_id="e", variant="A", request_id="r", user_id="u", ts="now"
            ),
            r"\$\.ts: 'now' is not a 'date-time'",
        ),
        (  # valid JSON Schema (no maximum) that an Avro long cannot hold
            lambda p: p.exposure(Exposure("r1", "u", TS, (ExposureItem("i", 2**70),))),
            r"invalid exposure\.v1: .*long",
        ),
    ],
)
async def test_invalid_events_are_refused_before_sending(call: Any, pattern: str) -> None:
    factory = Factory()
    async with EventProducer("k:9092", producer_factory=factory) as producer:
        with pytest.raises(InvalidEventError, match=pattern):
            await call(producer)
    assert factory.kafka.records == []
    assert producer.sent == producer.failed == 0


async def test_wrong_call_shapes_are_type_errors() -> None:
    async with EventProducer("k:9092", producer_factory=Factory()) as producer:
        with pytest.raises(TypeError, match="not both"):
            await producer.outcome({"request_id": "r1"}, user_id="u")
        with pytest.raises(TypeError, match="expected Outcome"):
            await producer.outcome(Item("i", "t", (), True))  # type: ignore[arg-type]


@pytest.mark.parametrize("acks", [0, "0"])
def test_acks_zero_is_refused(acks: Any) -> None:
    with pytest.raises(ConfigError, match="acks=0 is not supported"):
        EventProducer("k:9092", acks=acks)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"acks": 2}, r"acks must be 'all', 1 or -1"),
        ({"salt": ""}, r"salt must be a non-empty string"),
        ({"topics": {"exposures": "x"}}, r"topics keys must be schema names .* unknown: exposures"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        EventProducer("k:9092", **kwargs)


async def test_settings_reach_the_kafka_client_and_topics_can_be_overridden() -> None:
    factory = Factory()
    producer = EventProducer(
        "a:1,b:2",
        acks=1,
        linger_ms=20,
        max_batch_size=1 << 20,
        client_id="shop",
        topics={"outcome.v1": "shop.outcomes"},
        producer_factory=factory,
        kafka_options={"security_protocol": "SSL"},
    )
    await producer.start()
    await producer.outcome(request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS)
    await producer.stop()
    assert factory.kafka.options == {
        "bootstrap_servers": "a:1,b:2",
        "client_id": "shop",
        "acks": 1,
        "linger_ms": 20,
        "max_batch_size": 1 << 20,
        "security_protocol": "SSL",
    }
    assert factory.kafka.records[0][0] == "shop.outcomes"


async def test_delivery_failures_are_counted_reported_and_raised_by_flush() -> None:
    factory = Factory(auto=False)
    seen: list[tuple[str, str, BaseException]] = []
    producer = EventProducer(
        "k:9092", producer_factory=factory, on_failure=lambda *f: seen.append(f)
    )
    await producer.start()
    ok = await producer.outcome(
        request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS
    )
    bad = await producer.outcome(
        request_id="r2", user_id="u", item_id="i", event_type="click", ts=TS
    )
    assert producer.pending == 2
    ok.set_result("metadata")
    bad.set_exception(TimeoutError("broker gone"))
    with pytest.raises(
        DeliveryError,
        match=r"1 record\(s\) not delivered: 'r2' → recsys\.outcomes\.v1: "
        r"TimeoutError: broker gone",
    ):
        await producer.flush()
    assert (producer.sent, producer.failed, producer.pending) == (1, 1, 0)
    assert [(k, t) for k, t, _ in producer.failures] == [("r2", topics.OUTCOMES)]
    assert [(k, t, str(e)) for k, t, e in seen] == [("r2", topics.OUTCOMES, "broker gone")]
    await producer.flush()  # failures are reported once per flush, counters keep them
    assert producer.failed == 1
    await producer.stop()


async def test_flush_waits_for_outstanding_deliveries() -> None:
    factory = Factory(auto=False)
    async with EventProducer("k:9092", producer_factory=factory) as producer:
        future = await producer.item(item_id="i1", tenant="t", tags=[], available=False)
        asyncio.get_running_loop().call_later(0.01, future.set_result, "metadata")
        await producer.flush()
        assert producer.sent == 1 and producer.pending == 0
        assert factory.kafka.flushes == 1


async def test_a_cancelled_delivery_counts_as_a_failure() -> None:
    factory = Factory(auto=False)
    producer = EventProducer("k:9092", producer_factory=factory)
    await producer.start()
    future = await producer.outcome(
        request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS
    )
    future.cancel()
    with pytest.raises(DeliveryError, match="CancelledError"):
        await producer.flush()
    await producer.stop()


async def test_an_enqueue_failure_raises_and_is_counted() -> None:
    factory = Factory()
    async with EventProducer("k:9092", producer_factory=factory) as producer:
        factory.kafka.send_error = RuntimeError("buffer full")
        with pytest.raises(
            DeliveryError,
            match=r"could not enqueue outcome\.v1 key 'r1' to recsys\.outcomes\.v1: RuntimeError",
        ):
            await producer.outcome(
                request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS
            )
        assert producer.failed == 1
        factory.kafka.send_error = None
        with pytest.raises(DeliveryError, match="1 record"):
            await producer.flush()


async def test_leaving_the_block_flushes_and_reports() -> None:
    factory = Factory(auto=False)
    with pytest.raises(DeliveryError, match="'r1'"):
        async with EventProducer("k:9092", producer_factory=factory) as producer:
            future = await producer.outcome(
                request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS
            )
            future.set_exception(OSError("nope"))
    assert factory.kafka.stopped


async def test_an_error_inside_the_block_is_not_masked_by_flush() -> None:
    factory = Factory(auto=False)
    with pytest.raises(KeyError):
        async with EventProducer("k:9092", producer_factory=factory) as producer:
            future = await producer.outcome(
                request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS
            )
            future.set_exception(OSError("nope"))
            raise KeyError("caller bug")
    assert factory.kafka.stopped and producer.failed == 1


async def test_sending_before_start_is_an_error() -> None:
    producer = EventProducer("k:9092", producer_factory=Factory())
    with pytest.raises(DeliveryError, match="not started"):
        await producer.outcome(request_id="r1", user_id="u", item_id="i", event_type="click", ts=TS)


async def test_a_start_failure_names_the_bootstrap_servers() -> None:
    factory = Factory()
    factory.fake_options["auto"] = True

    def failing(**options: Any) -> FakeKafka:
        fake = factory(**options)
        fake.start_error = ConnectionRefusedError("refused")
        return fake

    with pytest.raises(
        DeliveryError, match=r"cannot start Kafka producer for k:9092: ConnectionRefusedError"
    ):
        await EventProducer("k:9092", producer_factory=failing).start()
    assert factory.kafka.stopped


def test_the_failure_list_is_bounded_but_the_counter_is_not() -> None:
    producer = EventProducer("k:9092", max_failures_kept=2)
    for n in range(5):
        producer._record_failure(f"r{n}", "t", OSError("x"))
    assert producer.failed == 5
    assert [k for k, _, _ in producer.failures] == ["r3", "r4"]


def test_encode_skips_only_a_check_the_caller_already_ran() -> None:
    # EventProducer validates each event before it pseudonymizes it; encode(checked=True)
    # must give the bytes of a checked encode, and an unchecked encode still refuses.
    from schemas.pseudonym import pseudonymize

    codec = AvroCodec()
    valid = Exposure("r1", pseudonymize("u1", "salt"), "2025-01-01T00:00:00Z",
                     (ExposureItem("i1", 1),), {"tenant": "t1"})
    assert codec.encode(valid, checked=True) == codec.encode(valid)
    bad = Exposure("r1", "u1", "not a time", (ExposureItem("i1", 1),), {"tenant": "t1"})
    with pytest.raises(InvalidEventError):
        codec.encode(bad)
