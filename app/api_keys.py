"""``recsys keys``: create, list and revoke the API keys in ``RECSYS_API_KEYS_FILE``.

The file holds hashes only (``serving.key_file``); ``create`` prints the new key once.
Running replicas pick changes up within a few seconds (``serving.key_reload``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from app.settings import Settings
from schemas.errors import ConfigError
from schemas.timestamps import ms_to_rfc3339
from serving.auth import ROLES, ApiKey
from serving.key_file import append_key, mint_key

DAY_MS = 86_400_000
MAX_EXPIRES_IN_DAYS = 36_500


def keys_file(settings: Settings, given: str | None) -> Path:
    """``--file``, else ``RECSYS_API_KEYS_FILE``."""
    path = Path(given) if given else settings.api_keys_file
    if path is None:
        raise ConfigError("no API-key file: set RECSYS_API_KEYS_FILE or pass --file PATH")
    return path


def create_key(settings: Settings, path: Path, tenant: str, roles: Sequence[str],
               key_id: str | None, expires_in_days: float | None,
               now_ms: int) -> tuple[str, ApiKey]:
    """Mint a key, append its stored record to ``path``; ``(raw key, stored key)``."""
    if not settings.api_key_secret:
        raise ConfigError("recsys keys create needs RECSYS_API_KEY_SECRET (the secret the "
                          "serving replicas hash keys with)")
    expires_at_ms = None
    if expires_in_days is not None:
        # checked before anything is written: 1e300 days wrote a record whose expiry no
        # date can show, and the key was lost to the traceback that followed
        if not 0 < expires_in_days <= MAX_EXPIRES_IN_DAYS:
            raise ConfigError(
                f"--expires-in-days {expires_in_days:g}: give a number of days > 0 and "
                f"<= {MAX_EXPIRES_IN_DAYS:,} (100 years); omit it for a key that never expires"
            )
        expires_at_ms = now_ms + round(expires_in_days * DAY_MS)
    raw, key = mint_key(settings.api_key_secret, tenant, roles, key_id=key_id,
                        expires_at_ms=expires_at_ms)
    append_key(path, key)
    return raw, key


def _roles(key: ApiKey) -> str:
    return ",".join(r for r in ROLES if r in key.roles) or "-"


def _expiry(key: ApiKey, now_ms: int) -> str:
    if key.expires_at_ms is None:
        return "never"
    try:
        shown = ms_to_rfc3339(key.expires_at_ms)
    except (OverflowError, OSError, ValueError):
        # a record written by hand (or by an older `keys create`): list it, say what is off
        return f"invalid (expires_at_ms={key.expires_at_ms} is no date)"
    return f"{shown} (expired)" if now_ms >= key.expires_at_ms else shown


def describe(key: ApiKey, now_ms: int) -> str:
    return (f"{key.key_id}: tenant {key.tenant}, roles {_roles(key)}, "
            f"expires {_expiry(key, now_ms)}")


def render_list(keys: Iterable[ApiKey], now_ms: int) -> str:
    """One aligned row per key: key_id, tenant, roles, expiry, revoked (no hashes)."""
    rows = [("KEY_ID", "TENANT", "ROLES", "EXPIRES", "REVOKED")]
    rows += [(k.key_id, k.tenant, _roles(k), _expiry(k, now_ms), "yes" if k.revoked else "no")
             for k in keys]
    if len(rows) == 1:
        return "no keys"
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows)
