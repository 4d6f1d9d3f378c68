"""Dead letters: records that do not decode or validate, kept with the reason.

The dead-letter record is the original record, byte for byte (same key, same value),
with the reason and source coordinates in Kafka headers — the convention Kafka
Connect uses, so any Kafka tool can inspect and re-drive it:

    recsys.dlq.reason     short human reason ("schema id 9 unknown", "$.ts: ...")
    recsys.dlq.topic      source topic
    recsys.dlq.partition  source partition (decimal)
    recsys.dlq.offset     source offset (decimal)
    recsys.dlq.schema     the schema the topic expects
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.codec import AvroCodec
from schemas.errors import ContractError
from schemas.events import Event

REASON = "recsys.dlq.reason"
TOPIC = "recsys.dlq.topic"
PARTITION = "recsys.dlq.partition"
OFFSET = "recsys.dlq.offset"
SCHEMA = "recsys.dlq.schema"
MAX_REASON = 1000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected record and why."""

    key: bytes | None
    value: bytes | None
    reason: str
    topic: str
    partition: int
    offset: int
    schema: str

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            (REASON, self.reason[:MAX_REASON].encode()),
            (TOPIC, self.topic.encode()),
            (PARTITION, str(self.partition).encode()),
            (OFFSET, str(self.offset).encode()),
            (SCHEMA, self.schema.encode()),
        ]


def parse_headers(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Headers of a dead-letter record as text (for ``recsys dead-letters`` and tests)."""
    return {
        k: v.decode(errors="replace") for k, v in (headers or ()) if k.startswith("recsys.dlq.")
    }


async def decode_or_dead_letter(
    codec: AvroCodec,
    *,
    schema: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
) -> Event | DeadLetter:
    """The typed event of a record, or the dead letter saying why it is not one.

    Async because a schema id this process has not seen is looked up in the registry.
    """
    if value is None:
        reason = "empty record value (tombstone) on an event topic"
    else:
        try:
            return await codec.decode_async(value, expected=schema)
        except ContractError as exc:
            reason = str(exc) or type(exc).__name__
    return DeadLetter(key, value, reason, topic, partition, offset, schema)


def listing(key: bytes | None, value: bytes | None,
            headers: Sequence[tuple[str, bytes]] | None) -> dict[str, object]:
    """One dead-letter record as a JSON document (``recsys dead-letters``): where it came
    from, why, and its key and value as text when they are UTF-8, else base64."""
    meta = parse_headers(headers)
    doc: dict[str, object] = {
        "topic": meta.get(TOPIC, ""),
        "partition": _int(meta.get(PARTITION)),
        "offset": _int(meta.get(OFFSET)),
        "schema": meta.get(SCHEMA, ""),
        "reason": meta.get(REASON, ""),
    }
    for name, raw in (("key", key), ("value", value)):
        if raw is None:
            doc[name] = None
            continue
        try:
            doc[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            doc[f"{name}_base64"] = base64.b64encode(raw).decode("ascii")
    return doc


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
