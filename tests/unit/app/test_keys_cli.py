"""``recsys keys create|list|revoke`` against a key file in tmp_path."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from app.api_keys import render_list
from app.cli import main
from serving.auth import ApiKey

SECRET = "cli-secret"


@pytest.fixture
def key_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys.json"
    monkeypatch.setenv("RECSYS_API_KEYS_FILE", str(path))
    monkeypatch.setenv("RECSYS_API_KEY_SECRET", SECRET)
    return path


def test_create_prints_the_key_once_and_stores_its_hash(key_env: Path, capsys):
    before = time.time_ns() // 1_000_000
    assert main(["keys", "create", "--tenant", "t1", "--role", "viewer", "--role", "admin",
                 "--key-id", "ops", "--expires-in-days", "2"]) == 0
    after = time.time_ns() // 1_000_000
    out, err = capsys.readouterr()
    raw = out.strip()  # stdout is the key alone: KEY=$(recsys keys create ...)
    assert raw.startswith("rsk_") and "\n" not in raw
    assert "created ops: tenant t1, roles viewer,admin, expires " in err
    assert "not stored" in err and raw not in err
    [stored] = json.loads(key_env.read_text())
    assert raw not in key_env.read_text()
    assert stored["key_hash"] == hmac.new(SECRET.encode(), raw.encode(),
                                          hashlib.sha256).hexdigest()
    assert (stored["key_id"], stored["tenant"], stored["roles"], stored["revoked"]) == (
        "ops", "t1", ["viewer", "admin"], False)
    assert before + 2 * 86_400_000 <= stored["expires_at_ms"] <= after + 2 * 86_400_000


def test_list_and_revoke(key_env: Path, capsys):
    assert main(["keys", "create", "--tenant", "t1", "--role", "viewer", "--key-id", "a"]) == 0
    assert main(["keys", "create", "--tenant", "t2", "--role", "operator",
                 "--key-id", "b"]) == 0
    capsys.readouterr()
    assert main(["keys", "revoke", "a"]) == 0
    assert capsys.readouterr().out.startswith("revoked a (tenant t1); servers reading")
    assert main(["keys", "revoke", "a"]) == 0
    assert capsys.readouterr().out == "a (tenant t1) was revoked already\n"
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.splitlines() == [
        "KEY_ID  TENANT  ROLES     EXPIRES  REVOKED",
        "a       t1      viewer    never    yes",
        "b       t2      operator  never    no",
    ]
    assert "key_hash" not in listing and json.loads(key_env.read_text())[0]["key_hash"] \
        not in listing


def test_list_marks_expired_keys():
    keys = [ApiKey("x", "0" * 64, "t1", frozenset({"admin", "viewer"}),
                   expires_at_ms=1_767_225_600_000)]
    assert render_list(keys, 1_767_225_599_999).splitlines()[1] == (
        "x       t1      viewer,admin  2026-01-01T00:00:00.000Z  no")
    assert render_list(keys, 1_767_225_600_000).splitlines()[1] == (
        "x       t1      viewer,admin  2026-01-01T00:00:00.000Z (expired)  no")
    assert render_list([], 0) == "no keys"


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["keys", "list"], {"RECSYS_API_KEYS_FILE": ""},
     "no API-key file: set RECSYS_API_KEYS_FILE or pass --file PATH"),
    (["keys", "create", "--tenant", "t1", "--role", "viewer"], {"RECSYS_API_KEY_SECRET": ""},
     "recsys keys create needs RECSYS_API_KEY_SECRET"),
    (["keys", "create", "--tenant", "t1", "--role", "viewer", "--expires-in-days", "0"], {},
     "--expires-in-days 0: give a number of days > 0"),
    (["keys", "revoke", "nope"], {}, "no key 'nope' (known: none)"),
    (["keys", "list"], {}, "no such file"),
])
def test_errors_are_one_line_and_exit_1(key_env: Path, monkeypatch, capsys, argv, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: ") and message in err


def test_file_flag_and_bare_keys_command(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("RECSYS_API_KEY_SECRET", SECRET)
    monkeypatch.delenv("RECSYS_API_KEYS_FILE", raising=False)
    other = tmp_path / "other.json"
    assert main(["keys", "create", "--tenant", "t1", "--role", "viewer",
                 "--file", str(other)]) == 0
    assert len(json.loads(other.read_text())) == 1
    capsys.readouterr()
    assert main(["keys"]) == 2
    assert "recsys keys create --tenant t1 --role viewer" in capsys.readouterr().out


@pytest.mark.parametrize("days", ["1e300", "inf", "nan", "36501", "0", "-1"])
def test_an_impossible_expiry_is_refused_before_the_file_is_written(key_env: Path, capsys, days):
    assert main(["keys", "create", "--tenant", "t1", "--role", "viewer",
                 "--expires-in-days", days]) == 1
    err = capsys.readouterr().err
    assert err.startswith("recsys: error: --expires-in-days ")
    assert "give a number of days > 0 and <= 36,500 (100 years)" in err
    assert not key_env.exists()


def test_the_longest_expiry_is_accepted(key_env: Path, capsys):
    assert main(["keys", "create", "--tenant", "t1", "--role", "viewer",
                 "--expires-in-days", "36500"]) == 0
    [stored] = json.loads(key_env.read_text())
    days = (stored["expires_at_ms"] - time.time_ns() // 1_000_000) / 86_400_000
    assert 36_499.99 < days <= 36_500


def test_list_shows_a_record_whose_expiry_is_no_date_instead_of_crashing(key_env: Path, capsys):
    # what `keys create --expires-in-days 1e300` wrote before it was validated
    record = {"key_id": "huge", "key_hash": "0" * 64, "tenant": "t1", "roles": ["viewer"],
              "expires_at_ms": 10**300, "revoked": False}
    ok = dict(record, key_id="fine", key_hash="1" * 64, expires_at_ms=None)
    key_env.write_text(json.dumps([record, ok]))
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert f"invalid (expires_at_ms={10**300} is no date)" in out
    assert "fine" in out and "never" in out
