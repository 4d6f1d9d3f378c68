"""KafkaConfigStore on the real (embedded) broker: versions, If-Match, audit, restart."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from schemas.errors import ServingError
from serving.config_kafka import KafkaConfigStore
from serving.config_store import Actor
from serving.tenant_config import content_etag

V1 = {"weights": {"pop": 1, "cooc": 0.5}}
V2 = {"weights": {"pop": 0.5}}
ACTOR = Actor("k1", "api_key", "req-1", "127.0.0.1", "pytest")


async def _eventually(check, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_versions_audit_and_restart_converge(broker):  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:8]
    topics = {"config_topic": f"cfg-{suffix}", "audit_topic": f"audit-{suffix}"}
    a = KafkaConfigStore(broker.bootstrap, **topics)
    await a.start()
    try:
        v1 = await a.put("t1", "config", V1, if_match=None, actor=ACTOR, now_ms=1000)
        assert v1.etag == content_etag(V1)
        v2 = await a.put("t1", "config", V2, if_match=v1.etag, actor=ACTOR, now_ms=2000)
        with pytest.raises(ServingError) as info:
            await a.put("t1", "config", V1, if_match=v1.etag, actor=ACTOR, now_ms=3000)
        assert (info.value.status, info.value.code) == (409, "RECSYS_VERSION_MISMATCH")
        await a.put("t1", "rules", [], if_match=None, actor=ACTOR, now_ms=3000)
        await a.record(
            "t1", ACTOR, "cache.invalidate", "cache", "config", 4000, {"targets": ["config"]}
        )
        assert a.current("t1", "config") == v2

        b = KafkaConfigStore(broker.bootstrap, **topics)  # a restarted replica
        await b.start()
        try:
            assert b.current("t1", "config") == v2
            assert b.current("t1", "rules") is not None
            assert ("t1", "config", v1.etag) in b.state.versions
            entries = await b.audit("t1", limit=10)
            assert [(e.id, e.action) for e in entries] == [
                (4, "cache.invalidate"),
                (3, "rules.update"),
                (2, "config.update"),
                (1, "config.update"),
            ]
            assert entries[2].before_state == V1 and entries[2].after_state == V2
            assert entries[0].actor == ACTOR
            assert await b.audit("t2", limit=10) == []

            # rollback on replica b reaches replica a
            back = await b.put("t1", "config", V1, if_match=v2.etag, actor=ACTOR, now_ms=5000)
            assert back.etag == v1.etag and back.created_at_ms == 1000
            await _eventually(lambda: a.current("t1", "config") == back)
            await _eventually(lambda: 5 in a.state.entries)
        finally:
            await b.stop()
    finally:
        await a.stop()


async def test_concurrent_writes_naming_one_version_let_exactly_one_win(broker):  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:8]
    store = KafkaConfigStore(broker.bootstrap, config_topic=f"cfg-{suffix}",
                             audit_topic=f"audit-{suffix}")
    await store.start()
    try:
        v1 = await store.put("t1", "config", V1, if_match=None, actor=ACTOR, now_ms=1000)
        docs = [{"weights": {"pop": 1, "cooc": n / 100}} for n in range(1, 21)]
        outcomes = await asyncio.gather(
            *(store.put("t1", "config", d, if_match=v1.etag, actor=ACTOR, now_ms=2000)
              for d in docs), return_exceptions=True)
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, ServingError)]
        assert len(won) == 1 and len(lost) == 19
        assert {e.code for e in lost} == {"RECSYS_VERSION_MISMATCH"}
        assert store.current("t1", "config") == won[0]
        # the audit holds the one write that happened, on top of the first
        entries = await store.audit("t1", limit=50)
        assert [e.action for e in entries] == ["config.update", "config.update"]
        assert entries[0].before_state == V1 and entries[0].after_state == won[0].document
    finally:
        await store.stop()
