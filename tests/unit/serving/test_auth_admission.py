"""API keys, tenant scope, token bucket arithmetic and the in-flight gate."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from schemas.errors import ConfigError, ServingError
from serving.admission import InFlightGate, Overloaded, RateLimited, RateLimiter
from serving.auth import KeyRing, hash_key, require_path_tenant, resolve_principal


def test_keys_are_stored_as_hmac_only():
    ring = KeyRing("secret")
    key = ring.add("raw-key", "t1", ["viewer"], key_id="k1")
    assert key.key_hash == hmac.new(b"secret", b"raw-key", hashlib.sha256).hexdigest()
    assert "raw-key" not in repr(ring.by_hash)
    assert ring.authenticate("raw-key", 0) == key
    assert ring.authenticate("other", 0) is None


def test_expired_and_revoked_keys_fail():
    ring = KeyRing("secret")
    ring.add("k", "t1", ["admin"], expires_at_ms=100)
    assert ring.authenticate("k", 99) is not None
    assert ring.authenticate("k", 100) is None
    with pytest.raises(ConfigError):
        KeyRing("")
    with pytest.raises(ConfigError, match="unknown roles"):
        ring.add("x", "t1", ["root"])
    assert hash_key("a", "b") != hash_key("a", "c")


def test_principal_takes_the_key_tenant_and_checks_the_header():
    ring = KeyRing("s")
    ring.add("k", "t1", ["viewer"])
    p = resolve_principal(ring, "k", None, 0)
    assert (p.tenant, p.roles, p.kind) == ("t1", frozenset({"viewer"}), "api_key")
    assert resolve_principal(ring, "k", "t1", 0).tenant == "t1"
    for bad in ("", " t1 ", "t/1"):
        with pytest.raises(ServingError) as info:
            resolve_principal(ring, "k", bad, 0)
        assert (info.value.status, info.value.code) == (400, "RECSYS_INVALID_TENANT")
    with pytest.raises(ServingError) as info:
        resolve_principal(ring, "k", "t2", 0)
    assert info.value.code == "RECSYS_TENANT_SCOPE_MISMATCH"
    with pytest.raises(ServingError) as info:
        require_path_tenant(p, "t2")
    assert info.value.code == "RECSYS_TENANT_SCOPE_MISMATCH"
    open_p = resolve_principal(None, None, "t9", 0, frozenset({"viewer"}))
    assert (open_p.tenant, open_p.kind) == ("t9", "open")


def test_token_bucket_arithmetic():
    now = [0.0]
    rl = RateLimiter(capacity=3, refill_per_s=2, clock=lambda: now[0])
    assert [rl.take("t") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rl.take("t") == 0.5  # 1 token at 2/s
    now[0] = 0.25
    assert rl.take("t") == 0.25  # half a token back
    now[0] = 0.5
    assert rl.take("t") == 0.0
    now[0] = 100.0
    assert [rl.take("t") for _ in range(4)][-1] == 0.5  # refill caps at capacity 3
    with pytest.raises(RateLimited) as info:
        rl.check("t")
    assert info.value.retry_after_s == 1 and info.value.status == 429


def test_in_flight_gate():
    gate = InFlightGate(limit=2, retry_after_s=4)
    gate.enter()
    gate.enter()
    with pytest.raises(Overloaded) as info:
        gate.enter()
    assert (info.value.retry_after_s, gate.rejected) == (4, 1)
    gate.leave()
    gate.enter()
    unlimited = InFlightGate(limit=0)
    for _ in range(100):
        unlimited.enter()


def test_key_ring_from_stored_records():
    digest = hmac.new(b"secret", b"raw", hashlib.sha256).hexdigest()
    ring = KeyRing.from_records("secret", [
        {"key_id": "k1", "key_hash": digest.upper(), "tenant": "t1", "roles": ["operator"]},
        {"key_id": "k2", "key_hash": "0" * 64, "tenant": "t2", "roles": [], "revoked": True},
    ])
    key = ring.authenticate("raw", 0)
    assert key is not None and (key.key_id, key.tenant, key.roles) == (
        "k1", "t1", frozenset({"operator"}))
    with pytest.raises(ConfigError, match="record 0: missing or malformed 'tenant'"):
        KeyRing.from_records("s", [{"key_id": "k", "key_hash": digest, "roles": []}])
    with pytest.raises(ConfigError, match=r"record 0 \(k\): unknown roles \['root'\]"):
        KeyRing.from_records("s", [{"key_id": "k", "key_hash": digest, "tenant": "t",
                                    "roles": ["root"]}])
    with pytest.raises(ConfigError, match="64-hex"):
        KeyRing.from_records("s", [{"key_id": "k", "key_hash": "ab", "tenant": "t",
                                    "roles": []}])
