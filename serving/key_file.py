"""The API-key file (``RECSYS_API_KEYS_FILE``): stored key records as a JSON array.

Each record is ``{key_id, key_hash, tenant, roles, expires_at_ms, revoked}``
(``serving.auth.parse_key_record``): the key's HMAC-SHA256 under
``RECSYS_API_KEY_SECRET``, never the key. Every error is a ``ConfigError`` naming the
file (and the record). A write goes to a temporary file in the same directory that is
then renamed over the file, so a reader (a serving replica reloading it) sees the old
file or the new one, never half of one; read-modify-write changes (``append_key``,
``revoke_key``) hold an exclusive lock on ``<file>.lock`` so two of them cannot lose
each other's change.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from schemas.errors import ConfigError
from serving.auth import (
    ROLES,
    SAFE_KEY_ID,
    SAFE_TENANT,
    ApiKey,
    hash_key,
    key_record,
    parse_key_records,
)

RAW_KEY_PREFIX = "rsk_"  # recognisable in logs and by secret scanners


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(f"API keys file {path}: {what}")


def load_keys(path: Path) -> list[ApiKey]:
    """The keys stored in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, "no such file (`recsys keys create` creates it)") from None
    except OSError as exc:
        raise _fail(path, f"cannot read it: {exc.strerror}") from exc
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not JSON: {exc}") from exc
    if not isinstance(records, list):
        raise _fail(path, f"must be a JSON array of key records, not a {type(records).__name__}")
    try:
        return parse_key_records(records)
    except ConfigError as exc:
        raise _fail(path, str(exc)) from exc


def save_keys(path: Path, keys: Iterable[ApiKey]) -> None:
    """Replace the file's content atomically (temporary file + rename; mode 0600 for a
    new file, the old file's mode otherwise)."""
    text = json.dumps([key_record(k) for k in keys], indent=2) + "\n"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o600
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _fail(path, f"cannot write next to it: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[list[ApiKey]]:
    """The file's keys (none when it does not exist yet), under its exclusive lock."""
    try:
        lock = open(path.with_name(path.name + ".lock"), "a")  # closed by the with below
    except OSError as exc:
        raise _fail(path, f"cannot lock it: {exc.strerror}") from exc
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield load_keys(path) if path.exists() else []


def append_key(path: Path, key: ApiKey) -> None:
    """Add one key (the file is created when missing); its key_id must be new."""
    with _locked(path) as keys:
        if any(k.key_id == key.key_id for k in keys):
            raise _fail(path, f"key_id {key.key_id} exists already")
        keys.append(key)
        parse_key_records(key_record(k) for k in keys)  # the result must load again
        save_keys(path, keys)


def revoke_key(path: Path, key_id: str) -> ApiKey:
    """Mark a key revoked (idempotent) and return it as it was before."""
    with _locked(path) as keys:
        for n, key in enumerate(keys):
            if key.key_id == key_id:
                if not key.revoked:
                    keys[n] = replace(key, revoked=True)
                    save_keys(path, keys)
                return key
        known = ", ".join(k.key_id for k in keys) or "none"
        raise _fail(path, f"no key {key_id!r} (known: {known})")


def mint_key(secret: str, tenant: str, roles: Iterable[str], *, key_id: str | None = None,
             expires_at_ms: int | None = None) -> tuple[str, ApiKey]:
    """A new random key and its stored form: ``(raw key, ApiKey)``; the raw key is only
    returned, never stored."""
    key_id = key_id if key_id is not None else f"key-{secrets.token_hex(4)}"
    if not SAFE_KEY_ID.match(key_id):
        raise ConfigError(f"key id {key_id!r}: use 1-128 of [A-Za-z0-9._~-]")
    if not SAFE_TENANT.match(tenant):
        raise ConfigError(f"tenant {tenant!r}: use 1-128 of [A-Za-z0-9._~-]")
    wanted = frozenset(roles)
    if not wanted or wanted - set(ROLES):
        raise ConfigError(f"roles {sorted(wanted)}: give one or more of {', '.join(ROLES)}")
    raw = RAW_KEY_PREFIX + secrets.token_urlsafe(32)
    return raw, ApiKey(key_id, hash_key(raw, secret), tenant, wanted, expires_at_ms)
