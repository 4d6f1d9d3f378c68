"""Exposures and assignments from a served request reach Kafka as framed Avro."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid

from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.codec import AvroCodec
from schemas.events import Assignment, Exposure
from schemas.producer import EventProducer
from serving.app import create_app
from serving.config_store import InMemoryConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.sink_kafka import KafkaEventSink
from serving.views import InMemoryViews

SALT = "exposure-salt"


async def _read(bootstrap: str, topic: str, n: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    out: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(out) < n and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            out += [r.value for rs in batch.values() for r in rs if r.value is not None]
    finally:
        await consumer.stop()
    return out


async def test_recommend_produces_exposure_and_assignment(broker):  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:8]
    topics = {"exposure.v1": f"exp-{suffix}", "assignment.v1": f"asg-{suffix}"}
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics.values()])
    finally:
        await admin.close()
    views = InMemoryViews()
    views.popularity[("t1", "home")] = {"a": 2.0, "b": 1.0}
    sink = KafkaEventSink(EventProducer(broker.bootstrap, topics=topics))
    deps = ServingDeps(popularity=views, catalog=views, sink=sink,
                       config_store=InMemoryConfigStore(),
                       settings=ServingSettings(exposure_salt=SALT))
    client = TestClient(TestServer(create_app(deps)))
    await client.start_server()
    try:
        resp = await client.post("/v1/recommend", json={
            "surface": "home", "k": 2, "user": {"user_id": "u1"},
            "experiment": {"id": "exp1"}}, headers={"X-Org-Id": "t1", "X-Request-Id": "r-1"})
        assert resp.status == 200
    finally:
        await client.close()  # cleanup_ctx drains the queue and flushes the producer
    assert sink.sent == 2 and sink.dropped == 0 and sink.failed == 0
    codec = AvroCodec()
    [raw_exposure] = await _read(broker.bootstrap, topics["exposure.v1"], 1)
    [raw_assignment] = await _read(broker.bootstrap, topics["assignment.v1"], 1)
    exposure = codec.decode(raw_exposure, expected="exposure.v1")
    assignment = codec.decode(raw_assignment, expected="assignment.v1")
    assert isinstance(exposure, Exposure) and isinstance(assignment, Assignment)
    user = hmac.new(SALT.encode(), b"u1", hashlib.sha256).hexdigest()
    assert (exposure.request_id, exposure.user_id) == ("r-1", user)
    assert [(i.item_id, i.rank) for i in exposure.items] == [("a", 1), ("b", 2)]
    assert exposure.context is not None and exposure.context["tenant_id"] == "t1"
    assert (assignment.request_id, assignment.user_id, assignment.experiment_id) == (
        "r-1", user, "exp1")
    assert assignment.variant == exposure.context["experiment_variant"]
