"""`recsys serve`: the full API over the views a worker publishes, on the real broker."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer

from app.broker import EmbeddedBroker
from app.produce import produce_file
from app.runtime import start_worker
from app.serve import build_serving_app
from app.settings import Settings
from schemas import topics
from schemas.codec import AvroCodec

BODY = {"surface": "home", "k": 5, "user": {"user_id": "u9"}}


async def _served_exposure(bootstrap: str, request_id: str, timeout_s: float = 20.0) -> bool:
    consumer = AIOKafkaConsumer(
        topics.EXPOSURES,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    codec = AvroCodec()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    if r.key == request_id.encode():
                        event = codec.decode(r.value or b"", "exposure.v1")
                        return event.key() == request_id
    finally:
        await consumer.stop()
    return False


async def test_serve_replica_ranks_from_live_views_and_logs_its_exposures(
    fresh_broker: EmbeddedBroker, tiny_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(
        kafka_bootstrap=fresh_broker.bootstrap,
        partitions=4,
        data_dir=tmp_path,
        app_id=f"serve-{uuid.uuid4().hex[:6]}",
        grace_wall_s=5.0,
    )
    fapp, _ = await start_worker(settings)
    client = TestClient(TestServer((await build_serving_app(settings)).app))
    await client.start_server()
    try:
        for alias in ("exposures", "outcomes"):
            await produce_file(
                str(tiny_dir / f"{alias}.jsonl"),
                alias,
                fresh_broker.bootstrap,
                registry=AvroCodec().registry,
            )
        # i4 converted (weight 3), i1 was clicked (weight 1): the popularity view ranks them.
        deadline = asyncio.get_running_loop().time() + 60
        items: list[str] = []
        body: dict = {}
        while asyncio.get_running_loop().time() < deadline and items != ["i4", "i1"]:
            resp = await client.post("/v1/recommend", json=BODY, headers={"X-Org-Id": "t1"})
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            items = [i["item_id"] for i in body["items"]]
            await asyncio.sleep(0.3)
        assert items == ["i4", "i1"]
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
        assert await _served_exposure(fresh_broker.bootstrap, body["meta"]["request_id"])
    finally:
        await client.close()
        await fapp.stop()
