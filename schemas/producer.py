"""``EventProducer``: the async client serving stacks use to publish our events to Kafka.

Example::

    async with EventProducer("127.0.0.1:9092", salt=settings.user_id_salt) as producer:
        await producer.exposure(request_id="r1", user_id="raw-user-42",
                                items=[{"item_id": "i1", "rank": 1}],
                                context={"tenant": "t1", "surface": "home"})
        await producer.outcome(request_id="r1", user_id="raw-user-42", item_id="i1",
                               event_type="click")
    # leaving the block flushes: DeliveryError if any record was not acknowledged

What it guarantees:

- **Validation first.** Each event (typed, a JSON-like mapping, or keyword fields) is
  checked against its JSON Schema before anything is sent; ``InvalidEventError`` lists
  the reasons. ``ts`` may be omitted in mappings and keyword fields: it defaults to now.
- **Pseudonymization.** With a ``salt``, the caller passes *raw* user ids and the producer
  replaces ``user_id`` with ``pseudonymize(user_id, salt)`` (HMAC-SHA256 hex) before the
  record is encoded, so a raw id never leaves the process — not in the record, and not in
  the text of a validation error (raw ids are masked there). Without a salt, ``user_id`` is
  sent as given: pass ids that are already pseudonymous.
- **Keys and topics.** Records are keyed by ``request_id`` (``item_id`` for items), UTF-8,
  and go to the topic of ``schemas.topics.TOPIC_FOR_SCHEMA`` unless ``topics`` (schema name
  → topic) overrides it. The Kafka record timestamp is the send time; event time is ``ts``.
- **Batching.** Sends are enqueued into aiokafka's batches (``linger_ms``,
  ``max_batch_size``); each method returns once the record is enqueued, with a future
  that resolves on acknowledgement.
- **No silent loss.** Every acknowledgement or failure is counted: ``sent``, ``failed``,
  ``failures`` (the latest ``(key, topic, exception)`` triples) and the optional
  ``on_failure(key, topic, exception)`` callback. ``flush()`` waits for everything
  outstanding and raises ``DeliveryError`` naming the failures since the previous flush.
- ``acks=0`` is refused (``ConfigError``): fire-and-forget cannot report failures and
  breaks aiokafka on the embedded broker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from schemas.codec import AvroCodec
from schemas.errors import ConfigError, ContractError, DeliveryError
from schemas.events import (
    Assignment,
    Event,
    Exposure,
    ExposureItem,
    InvalidEventError,
    Item,
    Outcome,
    RankList,
)
from schemas.pseudonym import pseudonymize
from schemas.registry import SchemaRegistry
from schemas.timestamps import now_rfc3339
from schemas.topics import TOPIC_FOR_SCHEMA
from schemas.validation import schema_errors

log = logging.getLogger(__name__)

Failure = tuple[str, str, BaseException]
"""(record key, topic, exception) of one record Kafka did not acknowledge."""


class KafkaProducerLike(Protocol):
    """The part of ``aiokafka.AIOKafkaProducer`` we use (fakes implement it in tests)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def flush(self) -> None: ...

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]: ...


ProducerFactory = Callable[..., KafkaProducerLike]
"""Called with aiokafka ``AIOKafkaProducer`` keyword arguments."""


def aiokafka_factory(**options: Any) -> KafkaProducerLike:
    """The default factory: a real ``aiokafka.AIOKafkaProducer``."""
    from aiokafka import AIOKafkaProducer

    producer: KafkaProducerLike = AIOKafkaProducer(**options)
    return producer


def _jsonable(value: Any) -> Any:
    """Keyword fields as a JSON document: typed items → dicts, tuples → lists."""
    if isinstance(value, ExposureItem):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class EventProducer:
    """Validate, pseudonymize, encode (framed Avro) and produce events; see module doc."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        registry: SchemaRegistry | None = None,
        salt: str | None = None,
        linger_ms: int = 5,
        max_batch_size: int = 16384,
        acks: str | int = "all",
        client_id: str = "recsys-producer",
        topics: Mapping[str, str] | None = None,
        on_failure: Callable[[str, str, BaseException], None] | None = None,
        producer_factory: ProducerFactory | None = None,
        kafka_options: Mapping[str, Any] | None = None,
        max_failures_kept: int = 1000,
    ) -> None:
        if acks in (0, "0"):
            raise ConfigError(
                "acks=0 is not supported: unacknowledged sends cannot report delivery "
                "failures and break aiokafka on the embedded broker; use 'all' or 1"
            )
        if acks not in ("all", 1, -1, "1", "-1"):
            raise ConfigError(f"acks must be 'all', 1 or -1, not {acks!r}")
        if salt is not None and not salt:
            raise ConfigError("salt must be a non-empty string (or None to disable)")
        unknown = set(topics or {}) - set(TOPIC_FOR_SCHEMA)
        if unknown:
            raise ConfigError(
                f"topics keys must be schema names ({', '.join(TOPIC_FOR_SCHEMA)}); "
                f"unknown: {', '.join(sorted(unknown))}"
            )
        self.bootstrap_servers = bootstrap_servers
        self.topics: dict[str, str] = {**TOPIC_FOR_SCHEMA, **(topics or {})}
        self.codec = AvroCodec(registry)
        self.on_failure = on_failure
        self.sent = 0
        self.failed = 0
        self.failures: list[Failure] = []
        self._salt = salt
        self._max_failures_kept = max_failures_kept
        self._unflushed: list[Failure] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self._factory = producer_factory or aiokafka_factory
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            "acks": "all" if acks in ("all", -1, "-1") else 1,
            "linger_ms": linger_ms,
            "max_batch_size": max_batch_size,
            **(kafka_options or {}),
        }
        self._producer: KafkaProducerLike | None = None

    @property
    def pseudonymizes(self) -> bool:
        """True when user ids are replaced by their HMAC before sending (a salt is set)."""
        return self._salt is not None

    def __repr__(self) -> str:
        return (
            f"EventProducer({self.bootstrap_servers!r}, sent={self.sent}, "
            f"failed={self.failed}, pending={len(self._pending)}, "
            f"pseudonymize={self._salt is not None})"
        )

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Connect to Kafka; ``DeliveryError`` if the cluster cannot be reached."""
        if self._producer is not None:
            return
        producer = self._factory(**self._options)
        try:
            await producer.start()
        except Exception as exc:
            await _quietly_stop(producer)
            raise DeliveryError(
                f"cannot start Kafka producer for {self.bootstrap_servers}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._producer = producer

    async def stop(self) -> None:
        """Wait for outstanding sends (failures stay counted), then disconnect."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            await self._settle(producer)
        finally:
            await producer.stop()

    async def __aenter__(self) -> EventProducer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                await self.flush()
        finally:
            await self.stop()

    @property
    def pending(self) -> int:
        """Records enqueued but not yet acknowledged or failed."""
        return len(self._pending)

    # -- producing -------------------------------------------------------------------
    async def exposure(
        self, event: Exposure | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> asyncio.Future[Any]:
        """Produce an ``exposure.v1`` (typed, mapping or keyword fields)."""
        return await self.send(self._coerce(Exposure, event, fields))

    async def outcome(
        self, event: Outcome | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> asyncio.Future[Any]:
        """Produce an ``outcome.v1`` (typed, mapping or keyword fields)."""
        return await self.send(self._coerce(Outcome, event, fields))

    async def assignment(
        self, event: Assignment | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> asyncio.Future[Any]:
        """Produce an ``assignment.v1`` (typed, mapping or keyword fields)."""
        return await self.send(self._coerce(Assignment, event, fields))

    async def item(
        self, event: Item | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> asyncio.Future[Any]:
        """Produce an ``item.v1`` (typed, mapping or keyword fields) keyed by ``item_id``."""
        return await self.send(self._coerce(Item, event, fields))

    async def ranklist(
        self, event: RankList | Mapping[str, Any] | None = None, /, **fields: Any
    ) -> asyncio.Future[Any]:
        """Produce a ``ranklist.v1`` to ``recsys.ranklists.v1`` (or the ``topics`` override)."""
        return await self.send(self._coerce(RankList, event, fields))

    async def send(self, event: Event) -> asyncio.Future[Any]:
        """Validate, pseudonymize, encode and enqueue one typed event.

        Returns the delivery future (resolves to the record metadata, or fails); it is
        tracked either way, so callers need not await it.
        """
        reasons = event.errors()
        if reasons:
            raise InvalidEventError(event.SCHEMA, self._redact(reasons, event))
        event = self._pseudonymized(event)
        # validated above; the pseudonym only swaps user_id for its HMAC hex (still valid)
        try:
            data = self.codec.encode(event, checked=True)
        except ContractError as exc:  # valid JSON the Avro types cannot hold (a 2^70 rank)
            raise InvalidEventError(event.SCHEMA, self._redact([str(exc)], event)) from exc
        return await self._enqueue(event.SCHEMA, event.key(), data)

    async def send_body(self, schema: str, key: str, body: bytes) -> asyncio.Future[Any]:
        """Frame and enqueue an Avro ``body`` a writer of ``schemas`` made from values it
        checked against the contract (``schemas.exposure_wire``); user ids in it are final,
        so a pseudonymizing producer refuses it (``ConfigError``)."""
        if self._salt is not None:
            raise ConfigError("send_body needs a producer without a salt: the body's user "
                              "ids cannot be pseudonymized after encoding")
        return await self._enqueue(schema, key, self.codec.framed(schema, body))

    async def _enqueue(self, schema: str, key: str, data: bytes) -> asyncio.Future[Any]:
        topic = self.topics[schema]
        producer = self._producer
        if producer is None:
            raise DeliveryError("EventProducer is not started: await start() or use 'async with'")
        try:
            future = await producer.send(topic, value=data, key=key.encode("utf-8"))
        except Exception as exc:
            self._record_failure(key, topic, exc)
            raise DeliveryError(
                f"could not enqueue {schema} key {key!r} to {topic}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._pending.add(future)
        future.add_done_callback(lambda f: self._delivered(f, key, topic))
        return future

    async def flush(self) -> None:
        """Wait until every enqueued record is acknowledged or failed.

        Raises ``DeliveryError`` listing the failures since the previous ``flush``.
        """
        if self._producer is not None:
            await self._settle(self._producer)
        failures, self._unflushed = self._unflushed, []
        if failures:
            shown = "; ".join(
                f"{key!r} → {topic}: {type(exc).__name__}: {exc}"
                for key, topic, exc in failures[:10]
            )
            more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
            raise DeliveryError(f"{len(failures)} record(s) not delivered: {shown}{more}")

    # -- internals -------------------------------------------------------------------
    def _coerce(
        self, cls: type[Event], event: Event | Mapping[str, Any] | None, fields: Mapping[str, Any]
    ) -> Event:
        if isinstance(event, cls):
            if fields:
                raise TypeError("pass a typed event or keyword fields, not both")
            return event
        if event is not None and not isinstance(event, Mapping):
            raise TypeError(f"expected {cls.__name__}, a mapping or keyword fields, got {event!r}")
        if event is not None and fields:
            raise TypeError("pass a mapping or keyword fields, not both")
        doc = _jsonable(dict(event if event is not None else fields))
        if cls is not Item:
            doc.setdefault("ts", now_rfc3339())
        reasons = schema_errors(cls.SCHEMA, doc)
        if reasons:
            raise InvalidEventError(cls.SCHEMA, self._redact(reasons, doc.get("user_id")))
        return cls._from_valid_json(doc)

    def _redact(self, reasons: list[str], source: Any) -> list[str]:
        """Validation messages without the raw user id when pseudonymization is on."""
        if self._salt is None:
            return reasons
        raw = getattr(source, "user_id", source)
        out = []
        for reason in reasons:
            if reason.startswith("$.user_id:"):
                reason = "$.user_id: invalid (value withheld: user ids are pseudonymized)"
            elif isinstance(raw, str) and raw:
                reason = reason.replace(raw, "<user_id>")
            out.append(reason)
        return out

    def _pseudonymized(self, event: Event) -> Event:
        if self._salt is None or isinstance(event, Item):
            return event
        return dataclasses.replace(event, user_id=pseudonymize(event.user_id, self._salt))

    def _delivered(self, future: asyncio.Future[Any], key: str, topic: str) -> None:
        self._pending.discard(future)
        if future.cancelled():
            self._record_failure(key, topic, asyncio.CancelledError("delivery cancelled"))
            return
        exc = future.exception()
        if exc is None:
            self.sent += 1
        else:
            self._record_failure(key, topic, exc)

    def _record_failure(self, key: str, topic: str, exc: BaseException) -> None:
        failure = (key, topic, exc)
        self.failed += 1
        self.failures.append(failure)
        if len(self.failures) > self._max_failures_kept:
            del self.failures[: len(self.failures) - self._max_failures_kept]
        self._unflushed.append(failure)
        log.warning("record %r to %s not delivered: %s", key, topic, exc)
        if self.on_failure is not None:
            try:
                self.on_failure(key, topic, exc)
            except Exception:
                log.exception("on_failure callback raised")

    async def _settle(self, producer: KafkaProducerLike) -> None:
        await producer.flush()
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
            await asyncio.sleep(0)  # let the done callbacks of the last futures run


async def _quietly_stop(producer: KafkaProducerLike) -> None:
    try:
        await producer.stop()
    except Exception:  # the start failure is the error worth reporting
        log.debug("stopping a producer that failed to start raised", exc_info=True)
