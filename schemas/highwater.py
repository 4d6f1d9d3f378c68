"""High-water marks read from fetch responses, not ListOffsets.

Reading "to the end" of a topic needs each partition's end offset. Kafka's ListOffsets
gives it, but the embedded broker (Tansu 0.6) under-reports it when the last record
batch holds several records; the high-water mark carried by every fetch response is
right on every broker. So: ask ListOffsets for a starting point, fetch from there, and
take the fetch response's high-water mark (and the larger of the two).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.errors import BrokerError


async def fetch_highwaters(
    bootstrap: str, partitions: Iterable[TopicPartition], *, timeout_s: float = 15.0
) -> dict[TopicPartition, int]:
    """Every partition's high-water mark as a fetch response reports it."""
    tps = sorted(set(partitions))
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=1024,
        client_id="recsys-highwater",
    )
    try:
        await consumer.start()
        return await _highwaters(consumer, tps, timeout_s)
    except KafkaError as exc:
        raise BrokerError(f"cannot read high-water marks from {bootstrap}: {exc}") from exc
    finally:
        await consumer.stop()


async def _highwaters(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], timeout_s: float
) -> dict[TopicPartition, int]:
    consumer.assign(tps)
    listed = await consumer.end_offsets(tps)
    for tp in tps:
        consumer.seek(tp, max(listed[tp] - 1, 0))
    deadline = asyncio.get_running_loop().time() + timeout_s
    result: dict[TopicPartition, int] = {}
    while len(result) < len(tps):
        if asyncio.get_running_loop().time() > deadline:
            missing = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in tps if tp not in result)
            raise BrokerError(f"no fetch response for {missing} within {timeout_s}s")
        await consumer.getmany(timeout_ms=100)
        for tp in tps:
            hw = consumer.highwater(tp)
            if hw is not None and tp not in result:
                result[tp] = max(hw, listed[tp])
                consumer.pause(tp)
    return result
