"""``recsys produce``: validate a JSONL file line by line and publish it as Avro."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from app.progress import Progress, count_lines
from schemas import topics
from schemas.errors import ConfigError, ContractError, DeliveryError
from schemas.events import Event, event_from_json
from schemas.producer import EventProducer, ProducerFactory
from schemas.registry import SchemaRegistry

#: CLI alias → (topic, schema)
TOPIC_ALIASES: dict[str, tuple[str, str]] = {
    "exposures": (topics.EXPOSURES, "exposure.v1"),
    "outcomes": (topics.OUTCOMES, "outcome.v1"),
    "assignments": (topics.ASSIGNMENTS, "assignment.v1"),
    "items": (topics.ITEMS, "item.v1"),
}
PROGRESS_MIN_LINES = 100_000
DELIVERY_TIMEOUT_S = 30.0
"""Default of ``RECSYS_DELIVERY_TIMEOUT_S``: how long a produced record may wait for
Kafka's acknowledgement before it counts as not delivered."""
FLUSH_SLACK_S = 5.0
log = logging.getLogger(__name__)


@dataclass
class ProduceSummary:
    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    failed: int = 0
    not_sent_from: int = 0
    """First line not read because delivery had failed before it (0: all read)."""
    last_line: int = 0

    @property
    def ok(self) -> bool:
        return not (self.rejected or self.failed or self.not_sent_from)

    def render(self, path: str, topic: str) -> str:
        lines = [
            f"{path} → {topic}: sent {self.sent}, rejected {len(self.rejected)}"
            + (f", delivery failed {self.failed}" if self.failed else "")
            + (
                f"; lines {self.not_sent_from}-{self.last_line} not sent nor checked "
                "(Kafka stopped acknowledging)"
                if self.not_sent_from
                else ""
            )
        ]
        lines += [f"  line {n}: {reason}" for n, reason in self.rejected]
        return "\n".join(lines)


def resolve_topic(alias: str) -> tuple[str, str]:
    try:
        return TOPIC_ALIASES[alias]
    except KeyError:
        known = ", ".join(TOPIC_ALIASES)
        raise ConfigError(f"unknown topic {alias!r}; use one of: {known}") from None


def parse_lines(lines: Iterable[bytes], schema: str) -> Iterator[tuple[int, Event | str]]:
    """(line number, typed event or rejection reason) for each non-blank line."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield number, f"not JSON: {exc}"
            continue
        try:
            yield number, event_from_json(schema, doc)
        except ContractError as exc:
            yield number, str(exc)


async def produce_file(
    path: str,
    alias: str,
    bootstrap: str,
    *,
    registry: SchemaRegistry,
    salt: str | None = None,
    progress: bool | None = None,
    delivery_timeout_s: float = DELIVERY_TIMEOUT_S,
    producer_factory: ProducerFactory | None = None,
) -> ProduceSummary:
    """Send every valid line of ``path`` to the alias's topic, keyed by request_id/item_id.

    Delivery is bounded: a record Kafka has not acknowledged within
    ``delivery_timeout_s`` fails (aiokafka's request timeout), and once one has failed
    the rest of the file is neither read nor sent (``not_sent_from``) — a broker that
    went away made the producer retry for minutes.
    """
    topic, schema = resolve_topic(alias)
    summary = ProduceSummary()
    total = count_lines(path)
    bar = Progress(
        f"produce {alias}",
        total,
        enabled=total >= PROGRESS_MIN_LINES if progress is None else progress,
    )
    producer = EventProducer(
        bootstrap,
        registry=registry,
        salt=salt,
        client_id="recsys-produce",
        kafka_options={"request_timeout_ms": int(delivery_timeout_s * 1000)},
        producer_factory=producer_factory,
    )
    await producer.start()
    pending = 0
    try:
        with open(path, "rb") as fh:
            for number, parsed in parse_lines(fh, schema):
                bar.advance()
                if isinstance(parsed, str):
                    summary.rejected.append((number, parsed))
                    continue
                if producer.failed:
                    summary.not_sent_from, summary.last_line = number, max(total, number)
                    break
                try:
                    await producer.send(parsed)
                except DeliveryError:  # not even enqueued (counted as failed)
                    summary.not_sent_from, summary.last_line = number + 1, max(total, number)
                    break
        try:
            await asyncio.wait_for(producer.flush(), delivery_timeout_s + FLUSH_SLACK_S)
        except DeliveryError:
            pass  # counted in producer.failed, reported in the summary
        except TimeoutError:
            pending = producer.pending
    finally:
        bar.close()
        summary.sent = producer.sent
        summary.failed = producer.failed + pending
        try:
            await asyncio.wait_for(producer.stop(), FLUSH_SLACK_S)
        except TimeoutError:
            log.warning("the Kafka producer did not stop in %ss; left behind", FLUSH_SLACK_S)
    return summary
