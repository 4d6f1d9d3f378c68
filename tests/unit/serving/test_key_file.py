"""The API-key file: round trip, bad records and files, atomic writes, reloading ring."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import ConfigError
from serving.auth import ApiKey, key_record
from serving.key_file import append_key, load_keys, mint_key, revoke_key, save_keys
from serving.key_reload import FileKeyRing

SECRET = "file-secret"
H1 = hmac.new(SECRET.encode(), b"raw-1", hashlib.sha256).hexdigest()
H2 = hmac.new(SECRET.encode(), b"raw-2", hashlib.sha256).hexdigest()
K1 = ApiKey("k1", H1, "t1", frozenset({"viewer", "admin"}))
K2 = ApiKey("k2", H2, "t2", frozenset({"operator"}), expires_at_ms=1_800_000_000_000,
            revoked=True)


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"key_id": "k1", "key_hash": H1, "tenant": "t1",
                            "roles": ["viewer"]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_round_trip_keeps_every_field(tmp_path: Path):
    path = tmp_path / "keys.json"
    save_keys(path, [K1, K2])
    assert load_keys(path) == [K1, K2]
    # the stored form: fixed field order, roles in viewer/operator/admin order, no raw key
    assert json.loads(path.read_text()) == [
        {"key_id": "k1", "key_hash": H1, "tenant": "t1", "roles": ["viewer", "admin"],
         "expires_at_ms": None, "revoked": False},
        {"key_id": "k2", "key_hash": H2, "tenant": "t2", "roles": ["operator"],
         "expires_at_ms": 1_800_000_000_000, "revoked": True}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_optional_fields_default_and_hashes_are_lowercased(tmp_path: Path):
    path = write(tmp_path / "keys.json", [record(key_hash=H1.upper())])
    assert load_keys(path) == [ApiKey("k1", H1, "t1", frozenset({"viewer"}))]
    assert load_keys(write(tmp_path / "empty.json", [])) == []


BAD_RECORDS: list[tuple[Any, str]] = [
    ("k1", r"record 0: must be an object, got str"),
    (record(tenant=...), r"record 0: missing or malformed 'tenant'"),
    (record(key_id="a b"), r"record 0: key_id must be 1-128 of \[A-Za-z0-9._~-\], got 'a b'"),
    (record(expires_at=5), r"record 0 \(k1\): unknown fields \['expires_at'\]"),
    (record(roles="admin"), r"record 0 \(k1\): roles must be a list of role names"),
    (record(roles=["root"]), r"record 0 \(k1\): unknown roles \['root'\]"),
    (record(tenant="t/1"), r"record 0 \(k1\): bad tenant 't/1'"),
    (record(key_hash="abc"), r"record 0 \(k1\): key_hash must be the 64-hex HMAC-SHA256"),
    (record(key_hash="g" * 64), r"record 0 \(k1\): key_hash must be the 64-hex"),
    (record(expires_at_ms="soon"),
     r"record 0 \(k1\): expires_at_ms must be epoch milliseconds .* got 'soon'"),
    (record(expires_at_ms=True), r"record 0 \(k1\): expires_at_ms must be epoch milliseconds"),
    (record(revoked="no"), r"record 0 \(k1\): revoked must be true or false, got 'no'"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_RECORDS)
def test_a_bad_record_names_the_file_and_the_record(tmp_path: Path, bad: Any, message: str):
    path = write(tmp_path / "keys.json", [bad])
    with pytest.raises(ConfigError, match=rf"^API keys file {path}: API key {message}"):
        load_keys(path)


def test_duplicates_name_both_records(tmp_path: Path):
    path = write(tmp_path / "keys.json", [record(), record(key_hash=H2)])
    with pytest.raises(ConfigError, match=r"record 1 \(k1\): key_id is used by record 0 too"):
        load_keys(path)
    write(path, [record(), record(key_id="k2")])
    with pytest.raises(ConfigError, match=r"record 1 \(k2\): the same key as record 0"):
        load_keys(path)


@pytest.mark.parametrize(("content", "message"), [
    (None, r"no such file \(`recsys keys create` creates it\)"),
    ("[{", r"not JSON: "),
    ('{"keys": []}', r"must be a JSON array of key records, not a dict"),
])
def test_a_bad_file_is_named(tmp_path: Path, content: str | None, message: str):
    path = tmp_path / "keys.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=rf"^API keys file {path}: {message}"):
        load_keys(path)


def test_append_creates_the_file_then_adds_in_order(tmp_path: Path):
    path = tmp_path / "keys.json"
    append_key(path, K1)
    append_key(path, K2)
    assert load_keys(path) == [K1, K2]
    with pytest.raises(ConfigError, match=r"key_id k1 exists already"):
        append_key(path, ApiKey("k1", "0" * 64, "t1", frozenset({"viewer"})))
    assert load_keys(path) == [K1, K2]
    # no temporary files are left next to it (only the lock file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "keys.json.lock"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch):
    path = tmp_path / "keys.json"
    append_key(path, K1)
    before = path.read_bytes()
    path.chmod(0o640)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        append_key(path, K2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json", "keys.json.lock"]
    append_key(path, K2)  # a later write keeps the file's mode
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_file_that_does_not_load_is_not_appended_to(tmp_path: Path):
    path = write(tmp_path / "keys.json", [record(roles=["root"])])
    with pytest.raises(ConfigError, match="unknown roles"):
        append_key(path, K2)
    assert json.loads(path.read_text()) == [record(roles=["root"])]


def test_revoke_marks_the_key_and_is_idempotent(tmp_path: Path):
    path = tmp_path / "keys.json"
    save_keys(path, [K1, K2])
    assert revoke_key(path, "k1") == K1
    assert [k.revoked for k in load_keys(path)] == [True, True]
    assert revoke_key(path, "k1").revoked
    with pytest.raises(ConfigError, match=r"no key 'k9' \(known: k1, k2\)"):
        revoke_key(path, "k9")


def test_minted_keys_are_random_and_only_their_hash_is_kept():
    raw, key = mint_key(SECRET, "t1", ["viewer"], key_id="mine", expires_at_ms=5)
    assert raw.startswith("rsk_") and len(raw) == 4 + 43  # token_urlsafe(32)
    assert key == ApiKey("mine", hmac.new(SECRET.encode(), raw.encode(),
                                          hashlib.sha256).hexdigest(),
                         "t1", frozenset({"viewer"}), 5)
    assert raw not in json.dumps(key_record(key))
    raw2, key2 = mint_key(SECRET, "t1", ["viewer"])
    assert raw2 != raw and key2.key_id.startswith("key-") and len(key2.key_id) == 12


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tenant": "t 1", "roles": ["viewer"]}, r"tenant 't 1'"),
    ({"tenant": "t1", "roles": []}, r"give one or more of viewer, operator, admin"),
    ({"tenant": "t1", "roles": ["root"]}, r"roles \['root'\]"),
    ({"tenant": "t1", "roles": ["viewer"], "key_id": "a/b"}, r"key id 'a/b'"),
])
def test_mint_rejects_bad_arguments(kwargs: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=message):
        mint_key(SECRET, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_ring_follows_the_file_at_most_every_interval(tmp_path: Path, caplog):
    path = tmp_path / "keys.json"
    save_keys(path, [K1])
    clock = Clock()
    ring = FileKeyRing(SECRET, path, check_every_s=5.0, monotonic=clock)
    assert ring.authenticate("raw-1", 0) == K1 and ring.authenticate("raw-2", 0) is None
    append_key(path, ApiKey("k2", H2, "t2", frozenset({"viewer"})))
    clock.now = 104.9  # not yet time to look
    assert ring.authenticate("raw-2", 0) is None
    clock.now = 105.0
    assert ring.authenticate("raw-2", 0) is not None
    revoke_key(path, "k1")
    clock.now = 110.0
    assert ring.authenticate("raw-1", 0) is None  # revoked without a restart
    assert not ring.refresh()  # looked at 110 already

    # a broken edit keeps the keys loaded before, and is read again once it changes
    path.write_text("[{")
    clock.now = 115.0
    with caplog.at_level(logging.ERROR, logger="serving.key_reload"):
        assert not ring.refresh()
    assert "not JSON" in caplog.text and "keeping the 2 keys loaded before" in caplog.text
    assert ring.authenticate("raw-2", 0) is not None
    path.unlink()
    clock.now = 120.0
    assert not ring.refresh()
    assert ring.authenticate("raw-2", 0) is not None
    save_keys(path, [K1])
    clock.now = 125.0
    assert ring.refresh()
    assert ring.authenticate("raw-1", 0) == K1 and ring.authenticate("raw-2", 0) is None


def test_the_ring_needs_a_loadable_file_at_start(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        FileKeyRing(SECRET, tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="non-empty"):
        FileKeyRing("", write(tmp_path / "keys.json", []))
