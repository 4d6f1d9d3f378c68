"""``Outbox`` and ``persist``: whole record batches per partition, in order, every ack awaited."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from streams.batch_io import Outbox, persist, send_many
from streams.overlay import Overlay


class FakeClient:
    """aiokafka's producer as the outbox uses it, with small real record batches."""

    def __init__(self, batch_size: int = 120) -> None:
        self.batch_size = batch_size
        self.batches: list[tuple[str, int, list[tuple[bytes | None, bytes | None]]]] = []
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.acks: list[asyncio.Future[Any]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)

    def _ack(self) -> asyncio.Future[Any]:
        fut = asyncio.get_running_loop().create_future()
        self.acks.append(fut)
        return fut

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        assert batch._closed, "a batch is closed before it is handed over"
        records = DefaultRecordBatch(bytearray(batch._build()))
        self.batches.append((topic, partition, [(r.key, r.value) for r in records]))
        return self._ack()

    async def send(self, topic: str, value: Any, *, key: Any, partition: Any) -> Any:
        self.sent.append((topic, key, value, partition))
        return self._ack()


def app_with(client: Any) -> Any:
    return SimpleNamespace(producer=SimpleNamespace(_producer=client))


async def acked_later(client: FakeClient, task: asyncio.Task[Any]) -> None:
    """Nothing is done until every ack has come back."""
    await asyncio.sleep(0)
    assert not task.done()
    for fut in client.acks:
        fut.set_result(None)


async def test_each_partition_gets_its_records_in_order_split_into_full_batches() -> None:
    client = FakeClient()
    outbox = Outbox(app_with(client))
    expected: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
    for n in range(30):
        topic, partition = ("a", n % 3) if n % 4 else ("b", 0)
        record = (f"k{n}".encode(), f"value-{n:04d}".encode())
        outbox.add(topic, *record, partition)
        expected.setdefault((topic, partition), []).append(record)
    task = asyncio.ensure_future(outbox.flush())
    await acked_later(client, task)
    assert await task == 30
    got: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = {}
    for topic, partition, records in client.batches:
        got.setdefault((topic, partition), []).extend(records)
    assert got == expected
    # ~20 bytes a record in 120-byte batches: every partition needed more than one batch
    per_partition = [sum(1 for t, p, _ in client.batches if (t, p) == tp) for tp in expected]
    assert min(per_partition) >= 2
    # the first batch of every partition is handed over before any partition's second
    firsts = [(t, p) for t, p, _ in client.batches[: len(expected)]]
    assert sorted(firsts) == sorted(expected)
    assert client.sent == []
    assert len(outbox) == 0  # flushed


async def test_records_without_a_partition_go_by_key_through_the_per_record_send() -> None:
    client = FakeClient()
    task = asyncio.ensure_future(
        send_many(app_with(client), [("v", [(b"k1", b"x", None), (b"k2", b"y", 4)])])
    )
    await acked_later(client, task)
    assert await task == 2
    assert client.sent == [("v", b"k1", b"x", None)]
    assert client.batches == [("v", 4, [(b"k2", b"y")])]


async def test_a_producer_without_batches_gets_every_record_on_its_own() -> None:
    sent: list[tuple[Any, ...]] = []

    async def send(topic: str, key: Any, value: Any, partition: Any, *_: Any) -> Any:
        sent.append((topic, key, value, partition))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    app = SimpleNamespace(producer=SimpleNamespace(send=send))
    assert await send_many(app, [("t", [(b"k", b"1", 2), (None, b"2", 2)])]) == 2
    assert sent == [("t", b"k", b"1", 2), ("t", None, b"2", 2)]


async def test_persist_writes_each_staged_key_once_to_its_partition_and_clears() -> None:
    client = FakeClient(batch_size=10_000)
    data: dict[str, Any] = {"old": [1]}
    table = SimpleNamespace(
        data=data, changelog_topic=SimpleNamespace(get_topic_name=lambda: "app-t-changelog")
    )
    staged = Overlay(data)
    staged.partition = 3
    staged["a"] = [1, 10]
    staged["a"] = [2, 11]  # written twice in the batch: one record
    staged.partition = 5
    del staged["old"]
    task = asyncio.ensure_future(persist(app_with(client), (table, staged)))
    await acked_later(client, task)
    await task
    assert data == {"a": [2, 11]}
    assert sorted(client.batches) == [
        ("app-t-changelog", 3, [(orjson.dumps("a"), orjson.dumps([2, 11]))]),
        ("app-t-changelog", 5, [(orjson.dumps("old"), None)]),
    ]
    assert list(staged.writes()) == []


class Kept:
    """A value a stage keeps as an object; its changelog form is its JSON."""

    def __init__(self, n: int) -> None:
        self.n = n


def encode_kept(value: Any) -> bytes:
    return orjson.dumps({"n": value.n} if isinstance(value, Kept) else value)


class OurStore(dict[str, Any]):
    """Like ``streams.stores``: takes the value as given, with its partition."""

    def __init__(self) -> None:
        super().__init__()
        self.partitions: dict[str, int] = {}

    def write(self, key: str, partition: int, value: Any) -> None:
        self[key] = value
        self.partitions[key] = partition


def changelog_table(data: Any) -> Any:
    return SimpleNamespace(data=data, changelog_topic=SimpleNamespace(get_topic_name=lambda: "c"))


async def test_our_store_keeps_the_object_and_another_store_gets_the_recovered_json() -> None:
    ours, theirs = OurStore(), {}
    kept = Kept(3)
    for data in (ours, theirs):
        client = FakeClient(batch_size=10_000)
        staged = Overlay(data)
        staged.partition = 1
        staged["k"] = kept
        task = asyncio.ensure_future(
            persist(app_with(client), (changelog_table(data), staged), encode=encode_kept)
        )
        await acked_later(client, task)
        await task
        assert client.batches == [("c", 1, [(b'"k"', b'{"n":3}')])]
    assert ours["k"] is kept and ours.partitions == {"k": 1}
    assert theirs == {"k": {"n": 3}}
