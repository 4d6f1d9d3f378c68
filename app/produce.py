"""``recsys produce``: validate a JSONL file line by line and publish it as Avro."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from app.progress import Progress, count_lines
from schemas import topics
from schemas.errors import ConfigError, ContractError
from schemas.events import Event, event_from_json
from schemas.producer import EventProducer
from schemas.registry import SchemaRegistry

#: CLI alias → (topic, schema)
TOPIC_ALIASES: dict[str, tuple[str, str]] = {
    "exposures": (topics.EXPOSURES, "exposure.v1"),
    "outcomes": (topics.OUTCOMES, "outcome.v1"),
    "assignments": (topics.ASSIGNMENTS, "assignment.v1"),
    "items": (topics.ITEMS, "item.v1"),
}
PROGRESS_MIN_LINES = 100_000


@dataclass
class ProduceSummary:
    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    failed: int = 0

    def render(self, path: str, topic: str) -> str:
        lines = [
            f"{path} → {topic}: sent {self.sent}, rejected {len(self.rejected)}"
            + (f", delivery failed {self.failed}" if self.failed else "")
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
) -> ProduceSummary:
    """Send every valid line of ``path`` to the alias's topic, keyed by request_id/item_id."""
    topic, schema = resolve_topic(alias)
    summary = ProduceSummary()
    total = count_lines(path)
    bar = Progress(
        f"produce {alias}",
        total,
        enabled=total >= PROGRESS_MIN_LINES if progress is None else progress,
    )
    producer = EventProducer(bootstrap, registry=registry, salt=salt, client_id="recsys-produce")
    await producer.start()
    try:
        with open(path, "rb") as fh:
            for number, parsed in parse_lines(fh, schema):
                bar.advance()
                if isinstance(parsed, str):
                    summary.rejected.append((number, parsed))
                    continue
                await producer.send(parsed)
        await producer.flush()
    finally:
        bar.close()
        summary.sent = producer.sent
        summary.failed = producer.failed
        await producer.stop()
    return summary
