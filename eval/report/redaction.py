"""Credentials masked out of the ``effective_config`` a report carries.

A report is shared (CI artifacts, dashboards, history_dir); the config it echoes
must not carry ``artifacts.object_store.s3.secret_key`` and the like. A non-empty
string under a credential-like key (one containing ``secret``, ``password``,
``passwd``, ``token``, ``access_key``, ``api_key`` or ``credential``) becomes
``***``, and so does the password in any string that is a
``scheme://user:password@host`` URL or a ``password=...`` keyword list (Postgres
DSNs, registry URLs). An empty value stays empty, so the
report still shows that it was not set.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
CREDENTIAL_WORDS = ("secret", "password", "passwd", "token", "access_key", "api_key", "credential")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(?=@)")
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\b(?:password|passwd)\s*=\s*)(?:'[^']*'|\S+)")


def is_credential_key(key: str) -> bool:
    """True for a key whose value is a credential (case-insensitive substring match)."""
    lowered = key.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def mask_credentials(value: Any) -> Any:
    """A copy of a JSON-like value with credentials replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: MASK
            if isinstance(key, str) and is_credential_key(key) and item not in ("", None)
            else mask_credentials(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_credentials(item) for item in value]
    if isinstance(value, str):
        if "@" in value:
            value = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
        if "=" in value:
            value = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
    return value
