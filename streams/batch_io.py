"""A stream task's writes per input batch, straight to the producer and awaited.

Both workers (``streams.agents``, ``streams.live_agents``) stage a batch's table writes
in an ``Overlay``, send the records the batch derived, await their acks, and only then
write each changed key once to its changelog partition — awaited too, before the
batch's input records are acked (so Faust's offset commit never runs ahead of the
state). The views are published the same way.

The records go to the aiokafka producer under Faust's driver, encoded as Faust's
``send_changelog`` would, not through Faust's one-record-at-a-time send buffer, whose
back-pressure throttled the streams to a few hundred events/s; and a record batch per
partition at a time (``Outbox``), not a ``send`` per record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol

import orjson

from streams.state_json import state_json

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
    topics); returns how many were sent. Records with a partition go out as whole record
    batches (``Outbox``), in order per partition; the others through the producer's
    per-record send, partitioned by key."""
    outbox = Outbox(app)
    for topic, records in batches:
        for key, value, partition in records:
            outbox.add(topic, key, value, partition)
    return await outbox.flush()


class Outbox:
    """Records to send, grouped per topic partition, then sent a record batch at a time.

    aiokafka's per-record ``send`` checks the topic's metadata, appends to its
    accumulator and makes a future per record, and on the ack builds a result tuple per
    record: about a third of the stream-state worker's time (py-spy). Here each
    partition's records are appended to aiokafka's ``BatchBuilder`` (the standard Kafka
    record batch, filled in C) and each batch is handed over with ``send_batch``: one
    future per batch. A partition's batches are handed over in order, so its records
    reach Kafka in the order they were added.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = getattr(app.producer, "_producer", None)
        self.groups: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = {}
        self.keyed: list[tuple[str, bytes | None, bytes | None]] = []

    def add(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> None:
        if partition is None:
            self.keyed.append((topic, key, value))
        else:
            self.groups.setdefault((topic, partition), []).append((key, value))

    def __len__(self) -> int:
        return len(self.keyed) + sum(len(v) for v in self.groups.values())

    async def flush(self) -> int:
        """Hand every record to the producer, await every ack; how many were sent."""
        count = len(self)
        futures: list[Awaitable[Any]] = []
        send = _sender(self.app)
        if self.client is not None and hasattr(self.client, "send_batch"):
            futures += await self._send_batches()
        else:
            for (topic, partition), records in self.groups.items():
                for key, value in records:
                    futures.append(await send(topic, key, value, partition))
        for topic, key, value in self.keyed:
            futures.append(await send(topic, key, value, None))
        self.groups.clear()
        self.keyed.clear()
        for fut in futures:
            await fut
        return count

    async def _send_batches(self) -> list[Awaitable[Any]]:
        client = self.client
        assert client is not None
        queues: list[tuple[str, int, list[Any]]] = []
        for (topic, partition), records in self.groups.items():
            builders = [client.create_batch()]
            for key, value in records:
                if builders[-1].append(timestamp=None, key=key, value=value) is None:
                    builders.append(client.create_batch())  # full (the first always fits)
                    builders[-1].append(timestamp=None, key=key, value=value)
            for builder in builders:
                builder.close()  # no per-record send may join it
            queues.append((topic, partition, builders))
        # The first batch of every partition first: a partition's next batch waits
        # until its previous one is taken into a request.
        futures: list[Awaitable[Any]] = []
        depth = max((len(b) for _, _, b in queues), default=0)
        for i in range(depth):
            for topic, partition, builders in queues:
                if i < len(builders):
                    futures.append(await client.send_batch(builders[i], topic, partition=partition))
        return futures


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
    app: Any, *pairs: tuple[Any, Staged], encode: Callable[[Any], bytes] = state_json
) -> None:
    """Write each staged key once, to its input record's changelog partition, into the
    table's local data, and await Kafka's acks; then forget the staged writes. The
    records of one changelog partition reach it in the order ``writes()`` yields them.

    Tables must have no key/value type: Faust's codec for them is JSON for keys and
    values, which is what its changelog recovery decodes (``encode`` writes a value's
    JSON). The stores of ``streams.stores`` keep the value as given (a stage may keep
    objects there, whose JSON ``encode`` writes) and record each key's partition (for
    the next rebalance); other stores (Faust's, rocksdb://) get the value as recovery
    would give it back, the decoded JSON, and keep their data per partition themselves.
    """
    outbox = Outbox(app)
    add, dumps, loads = outbox.add, orjson.dumps, orjson.loads
    for table, staged in pairs:
        ours = getattr(table.data, "write", None)
        plain = partial(_plain_write, table.data)
        topic = table.changelog_topic.get_topic_name()
        for key, partition, value in staged.writes():
            raw = None if value is None else encode(value)
            if ours is not None:
                ours(key, partition, value)
            else:  # the value as recovery would give it back (a store may serialise it)
                plain(key, partition, None if raw is None else loads(raw))
            add(topic, dumps(key), raw, partition)
        staged.clear()
    await outbox.flush()
