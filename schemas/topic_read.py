"""Read a whole topic: every record from the earliest offset up to the high-water marks
seen at the start (``schemas.highwater``: exact on every broker, unlike ListOffsets on
the embedded one). For tools that look at what flowed through a live system
(``recsys-eval``'s Kafka source, ``recsys dead-letters``); not for streaming.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from schemas.errors import BrokerError
from schemas.highwater import fetch_highwaters


async def topic_partitions(bootstrap: str, topic: str, client_id: str) -> list[TopicPartition]:
    """The topic's partitions; a missing topic or an unreachable broker is a BrokerError."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
    try:
        await admin.start()
        if topic not in set(await admin.list_topics()):
            raise BrokerError(f"kafka topic {topic!r} does not exist on {bootstrap}")
        described = await admin.describe_topics([topic])
    except KafkaError as exc:
        raise BrokerError(f"cannot read kafka topic {topic!r} on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for d in described for p in d["partitions"]]


async def read_to_end(bootstrap: str, topic: str, *, client_id: str,
                      timeout_s: float = 60.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the topic up to the high-water marks seen at the start, in
    (partition, offset) order."""
    tps = await topic_partitions(bootstrap, topic, client_id)
    ends = await fetch_highwaters(bootstrap, tps)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, client_id=client_id)
    out: list[ConsumerRecord[bytes, bytes]] = []
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
                raise BrokerError(f"kafka topic {topic!r}: not read to its end in {timeout_s}s")
            batch = await consumer.getmany(*todo, timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                out += [r for r in records if r.offset < ends[tp]]
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    out.sort(key=lambda r: (r.partition, r.offset))
    return out
