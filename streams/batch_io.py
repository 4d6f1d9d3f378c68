"""A stream task's writes per input batch, straight to the producer and awaited.

Both workers (``streams.agents``, ``streams.live_agents``) stage a batch's table writes
in an ``Overlay``, send the records the batch derived, await their acks, and only then
write each changed key once to its changelog partition — awaited too, before the
batch's input records are acked (so Faust's offset commit never runs ahead of the
state). The views are published the same way.

The records go to the aiokafka producer under Faust's driver (``_sender``), encoded as
Faust's ``send_changelog`` would, not through Faust's one-record-at-a-time send buffer,
whose back-pressure throttled the streams to a few hundred events/s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol

import orjson

Record = tuple[bytes | None, bytes, int | None]
"""(key, value, partition) of a record to send; partition None: by key."""
Write = tuple[str, int, Any]
"""(key, changelog partition, value or None for a delete) of a staged table write."""


class Staged(Protocol):
    """What ``persist`` needs of a batch's staged writes (``streams.overlay.Overlay``)."""

    def writes(self) -> Iterable[Write]: ...

    def clear(self) -> None: ...


async def send_all(app: Any, topic: str, records: Iterable[Record]) -> int:
    """Send the records to ``topic`` and await every ack; returns how many were sent."""
    return await send_many(app, [(topic, records)])


async def send_many(app: Any, batches: Iterable[tuple[str, Iterable[Record]]]) -> int:
    """Send each (topic, records) pair's records, then await every ack (one wait for all
    topics); returns how many were sent."""
    send = _sender(app)
    futures: list[Awaitable[Any]] = []
    for topic, records in batches:
        for key, value, partition in records:
            futures.append(await send(topic, key, value, partition))
    for fut in futures:
        await fut
    return len(futures)


Send = Callable[[str, bytes | None, bytes | None, int | None], Awaitable[Awaitable[Any]]]


def _sender(app: Any) -> Send:
    """``send(topic, key, value, partition)`` → the record's ack future. The aiokafka
    producer under Faust's driver when there is one: Faust's ``Producer.send`` adds a
    sensor signal and header/transaction handling per record (none used here), ~4 % of
    the stream-state worker's time; else the app producer's own ``send``."""
    producer = app.producer
    client = getattr(producer, "_producer", None)
    if client is None:
        return lambda t, k, v, p: producer.send(t, k, v, p, None, None)
    return lambda t, k, v, p: client.send(t, v, key=k, partition=p)


def _plain_write(data: Any, key: str, partition: int, value: Any) -> None:
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value


async def persist(
    app: Any, *pairs: tuple[Any, Staged], encode: Callable[[Any], bytes] = orjson.dumps
) -> None:
    """Write each staged key once, to its input record's changelog partition, into the
    table's local data, and await Kafka's acks; then forget the staged writes. The
    records of one changelog partition reach it in the order ``writes()`` yields them.

    Tables must have no key/value type: Faust's codec for them is JSON for keys and
    values, which is what its changelog recovery decodes (``encode`` writes a value's
    JSON; the local store keeps the value as given). The stores of ``streams.stores``
    also record each key's partition (for the next rebalance); other stores (rocksdb://)
    keep their data per partition themselves.
    """
    send = _sender(app)
    futures: list[Awaitable[Any]] = []
    for table, staged in pairs:
        write = getattr(table.data, "write", None) or partial(_plain_write, table.data)
        topic = table.changelog_topic.get_topic_name()
        for key, partition, value in staged.writes():
            write(key, partition, value)
            raw = None if value is None else encode(value)
            futures.append(await send(topic, orjson.dumps(key), raw, partition))
        staged.clear()
    for fut in futures:
        await fut
