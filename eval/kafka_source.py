"""Kafka reader: a topic from its earliest offset up to the high-water marks seen at start.

So a team can evaluate exactly what flowed through the live system. Values are decoded
from Avro (Confluent framing, ``schemas.codec``) into the same JSON documents a JSONL
file would hold, then through the same decoder. The end of each partition is the
high-water mark of a fetch response (``schemas.highwater``): exact on every broker,
unlike ListOffsets on the embedded one. Records that do not decode are skipped and
counted (the live worker dead-letters them); the count is reported on stderr.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from schemas.codec import AvroCodec
from schemas.errors import BrokerError, ContractError, InputError
from schemas.registry import open_registry
from schemas.topic_read import read_to_end

T = TypeVar("T")


async def read_topic(
    bootstrap: str, topic: str, registry_url: str | None = None, timeout_s: float = 60.0
) -> tuple[list[tuple[int, int, dict[str, Any]]], int]:
    """(partition, offset, JSON document) of every decodable record, and the skip count."""
    try:
        records = await read_to_end(bootstrap, topic, client_id="recsys-eval",
                                    timeout_s=timeout_s)
    except BrokerError as exc:
        raise InputError(str(exc)) from exc
    codec = AvroCodec(await open_registry(registry_url))
    out: list[tuple[int, int, dict[str, Any]]] = []
    skipped = 0
    for r in records:
        try:
            event = await codec.decode_async(r.value or b"")
            out.append((r.partition, r.offset, event.to_json()))
        except ContractError:
            skipped += 1
    return out, skipped


def _run_in_thread(coro_factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="recsys-eval-kafka")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


class KafkaSource(Generic[T]):
    """Decoded records of one topic; ``location`` names topic, partition and offset."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        decode: Callable[[Any], T],
        *,
        name: str,
        registry_url: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.name = name
        self._decode = decode
        self._registry_url = registry_url
        self._where = f"{topic}"

    def location(self) -> str:
        return self._where

    def __iter__(self) -> Iterator[T]:
        records, skipped = _run_in_thread(
            lambda: read_topic(self.bootstrap, self.topic, self._registry_url)
        )
        if skipped:
            print(
                f"recsys-eval: {self.name}: skipped {skipped} undecodable record(s) in "
                f"{self.topic}",
                file=sys.stderr,
            )
        for partition, offset, doc in records:
            self._where = f"{self.topic}[{partition}]@{offset}"
            yield self._decode(doc)
