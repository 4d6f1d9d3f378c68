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

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas.codec import AvroCodec
from schemas.errors import ContractError, InputError
from schemas.highwater import fetch_highwaters
from schemas.registry import open_registry

T = TypeVar("T")


async def read_topic(
    bootstrap: str, topic: str, registry_url: str | None = None, timeout_s: float = 60.0
) -> tuple[list[tuple[int, int, dict[str, Any]]], int]:
    """(partition, offset, JSON document) of every decodable record, and the skip count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="recsys-eval")
    try:
        await admin.start()
        if topic not in set(await admin.list_topics()):
            raise InputError(f"kafka topic {topic!r} does not exist on {bootstrap}")
        described = await admin.describe_topics([topic])
    except KafkaError as exc:
        raise InputError(f"cannot read kafka topic {topic!r} on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p["partition"]) for d in described for p in d["partitions"]]
    ends = await fetch_highwaters(bootstrap, tps)
    codec = AvroCodec(await open_registry(registry_url))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="recsys-eval",
    )
    out: list[tuple[int, int, dict[str, Any]]] = []
    skipped = 0
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        todo = {tp for tp in tps if ends[tp] > 0}
        for tp in tps:
            if tp not in todo:
                consumer.pause(tp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while todo:
            if loop.time() > deadline:
                raise InputError(f"kafka topic {topic!r}: not read to its end in {timeout_s}s")
            batch = await consumer.getmany(*todo, timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        continue
                    try:
                        event = await codec.decode_async(r.value or b"")
                        out.append((tp.partition, r.offset, event.to_json()))
                    except ContractError:
                        skipped += 1
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    out.sort(key=lambda r: (r[0], r[1]))
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
