"""Produce → worker tables → HTTP, on the real embedded broker, in one process."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app.broker import EmbeddedBroker
from app.produce import produce_file
from app.runtime import start_stack, stop_stack
from app.settings import Settings
from schemas import topics
from schemas.registry import LocalRegistry
from streams.deadletter import parse_headers


async def _recommend(base: str, tenant: str, surface: str, k: int = 5) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/v1/recommend",
            json={"surface": surface, "k": k, "user": {"user_id": "u9"}},
            headers={"X-Org-Id": tenant},
        ) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


async def _wait_for_items(base: str, expected: list[str], timeout_s: float = 30.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    body: dict = {}
    while asyncio.get_running_loop().time() < deadline:
        body = await _recommend(base, "t1", "home")
        if [i["item_id"] for i in body["items"]] == expected:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"items never became {expected}; last response {body}")


async def _dead_letters(bootstrap: str, want_key: bytes, timeout_s: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(
        topics.DEADLETTER,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not found and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for recs in batch.values() for r in recs if r.key == want_key]
    finally:
        await consumer.stop()
    return found


async def test_tiny_dataset_flows_to_recommend_and_bad_record_is_dead_lettered(
    broker: EmbeddedBroker, tiny_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        http_port=0,
        partitions=4,
        data_dir=tmp_path,
        app_id=f"spine-{uuid.uuid4().hex[:8]}",
    )
    running = await start_stack(settings)
    try:
        registry = LocalRegistry()
        summary = await produce_file(
            str(tiny_dir / "exposures.jsonl"), "exposures", broker.bootstrap, registry=registry
        )
        assert (summary.sent, summary.rejected, summary.failed) == (3, [], 0)

        # A record that is not framed Avro, between valid ones; a tombstone on an event
        # topic (dead-lettered) and one on the compacted catalog (an item deleted: not a
        # dead letter), followed on its partition by a bad catalog record (dead-lettered).
        raw = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await raw.start()
        try:
            await raw.send_and_wait(topics.EXPOSURES, key=b"bad-1", value=b'{"request_id":"x"}')
            await raw.send_and_wait(topics.EXPOSURES, key=b"gone-exposure", value=None)
            await raw.send_and_wait(topics.ITEMS, key=b"gone-item", value=None, partition=0)
            await raw.send_and_wait(topics.ITEMS, key=b"bad-item", value=b"x", partition=0)
        finally:
            await raw.stop()

        summary = await produce_file(
            str(tiny_dir / "outcomes.jsonl"), "outcomes", broker.bootstrap, registry=registry
        )
        assert (summary.sent, summary.rejected) == (2, [])

        # i4 was converted (weight 3) at 00:01:20, i1 clicked (weight 1) at 00:00:10; i2 and
        # i3 were only shown (weight 0) and follow at score 0 in item_id order. Both scores
        # decay with a 7-day half-life to the same instant, so i4/i1 = 3 * 2**(70 s / 7 d).
        body = await _wait_for_items(running.base_url, ["i4", "i1", "i2", "i3"])
        scores = [i["score"] for i in body["items"]]
        assert scores[0] / scores[1] == pytest.approx(3 * 2 ** (70 / (7 * 86400)), rel=1e-9)
        assert scores[2:] == [0.0, 0.0]
        assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4]
        # r3 was served on surface "search" with no items: nothing to recommend there.
        assert (await _recommend(running.base_url, "t1", "search"))["items"] == []

        letters = await _dead_letters(broker.bootstrap, b"bad-1")
        assert len(letters) == 1
        letter = letters[0]
        assert letter.value == b'{"request_id":"x"}'
        meta = parse_headers(letter.headers)
        assert meta["recsys.dlq.topic"] == topics.EXPOSURES
        assert meta["recsys.dlq.schema"] == "exposure.v1"
        assert "magic" in meta["recsys.dlq.reason"]
        assert int(meta["recsys.dlq.offset"]) >= 0 and int(meta["recsys.dlq.partition"]) >= 0
        [tombstone] = await _dead_letters(broker.bootstrap, b"gone-exposure")
        assert "tombstone" in parse_headers(tombstone.headers)["recsys.dlq.reason"]
        # the bad catalog record came after the catalog tombstone on the same partition
        [bad_item] = await _dead_letters(broker.bootstrap, b"bad-item")
        assert parse_headers(bad_item.headers)["recsys.dlq.topic"] == topics.ITEMS
        assert await _dead_letters(broker.bootstrap, b"gone-item", timeout_s=1.0) == []

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{running.base_url}/readyz") as resp:
                ready = await resp.json()
        expected = {"broker": True, "views": True, "live": True, "worker": True}
        assert resp.status == 200 and ready["checks"] == expected
    finally:
        await stop_stack(running)
