"""The config store's log fold (what every replica replays) and the in-memory store."""

from __future__ import annotations

import pytest

from schemas.errors import ServingError
from serving.config_state import (
    ConfigState,
    decode_audit,
    encode_audit,
    encode_version,
    pointer_key,
    version_key,
)
from serving.config_store import Actor, AuditEntry, InMemoryConfigStore, Version
from serving.tenant_config import content_etag
from serving.tenants import TenantCache

ACTOR = Actor("k1", "api_key", "r1", "::1", "ua")


def test_replaying_the_log_restores_versions_and_pointers():
    v1 = Version("t1", "config", "e1", {"a": 1}, 10)
    v2 = Version("t1", "config", "e2", {"a": 2}, 20)
    log = [(version_key(v1), encode_version(v1)), (pointer_key("t1", "config"), encode_version(v1)),
           (version_key(v2), encode_version(v2)), (pointer_key("t1", "config"), encode_version(v2)),
           (b"t1/config", None)]  # a tombstone is ignored
    state = ConfigState()
    for key, value in log:
        state.apply_config_record(key, value)
    assert state.current("t1", "config") == v2
    assert set(state.versions) == {("t1", "config", "e1"), ("t1", "config", "e2")}
    compacted = ConfigState()  # after compaction only the latest pointer may survive
    compacted.apply_config_record(pointer_key("t1", "config"), encode_version(v2))
    assert compacted.current("t1", "config") == v2


def test_audit_round_trip_takes_its_id_from_the_offset():
    entry = AuditEntry(0, 5, "t1", ACTOR, "config.update", "config", "e1", None, {"a": 1},
                       {"before_version": None})
    back = decode_audit(encode_audit(entry), offset=41)
    assert back == AuditEntry(42, 5, "t1", ACTOR, "config.update", "config", "e1", None,
                              {"a": 1}, {"before_version": None})


async def test_in_memory_store_if_match_and_rollback():
    store = InMemoryConfigStore()
    a = await store.put("t1", "rules", [], if_match=None, actor=ACTOR, now_ms=1)
    b = await store.put("t1", "rules", [{"x": 1}], if_match=a.etag, actor=ACTOR, now_ms=2)
    with pytest.raises(ServingError) as info:
        await store.put("t1", "rules", [], if_match=a.etag, actor=ACTOR, now_ms=3)
    assert info.value.status == 409
    with pytest.raises(ServingError):
        await store.put("t2", "rules", [], if_match="anything", actor=ACTOR, now_ms=3)
    again = await store.put("t1", "rules", [], if_match="*", actor=ACTOR, now_ms=4)
    assert again == a and again.etag == content_etag([])
    assert store.current("t1", "rules") == a
    assert [e.entity_id for e in await store.audit("t1", limit=5)] == [a.etag, b.etag, a.etag]


async def test_tenant_cache_parses_once_per_version():
    store = InMemoryConfigStore()
    cache = TenantCache(store)
    assert cache.state("t1").config_version == ""
    await store.put("t1", "config", {"algo": "cooc"}, if_match=None, actor=ACTOR, now_ms=1)
    first = cache.state("t1")
    assert first.config.mode == "cooc"
    assert cache.state("t1").config is first.config  # memoised by ETag
    assert cache.state("t1") is first  # the same state while neither version moved
    assert cache.invalidate("t1", "config") == 1
    assert cache.state("t1").config is not first.config
    await store.put("t1", "rules", [], if_match=None, actor=ACTOR, now_ms=2)
    moved = cache.state("t1")
    assert moved.rules_version == content_etag([]) and moved is not first
    assert cache.state("t2").config_version == "" and cache.state("t2").rules == ()
    for n in range(100):  # tenants nobody stored a document for are not remembered
        assert cache.state(f"nobody-{n}").rules_version == ""
    assert sorted(cache._states) == ["t1"]
