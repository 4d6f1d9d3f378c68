"""API keys and tenant scope (spec §4.7).

Keys are stored only as ``HMAC-SHA256(server_secret, key)`` hex; each is bound to one
tenant and a set of roles (viewer, operator, admin), with optional expiry and
revocation. The tenant header ``X-Org-Id``, when sent, must name the key's tenant; the
admin path's ``{tenant_id}`` must too. Without a key ring (open mode, for a trusted
local network only) the header names the tenant and ``open_roles`` are granted.
Stored records (``{key_id, key_hash, tenant, roles, expires_at_ms?, revoked?}``) are
read strictly by ``parse_key_record``; ``serving.key_file`` keeps them in a JSON file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.errors import ConfigError, ServingError

ROLES = ("viewer", "operator", "admin")
READ_ROLES = frozenset(ROLES)
WRITE_ROLES = frozenset({"operator", "admin"})
SAFE_TENANT = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
SAFE_KEY_ID = SAFE_TENANT
HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: the fields of a stored key record, in the order they are written
KEY_FIELDS = ("key_id", "key_hash", "tenant", "roles", "expires_at_ms", "revoked")
_REQUIRED = KEY_FIELDS[:4]


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    key_hash: str
    tenant: str
    roles: frozenset[str]
    expires_at_ms: int | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    roles: frozenset[str]
    subject: str
    kind: str  # api_key | open

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


def parse_key_record(n: int, record: object) -> ApiKey:
    """Stored key record number ``n``: ``{key_id, key_hash, tenant, roles, expires_at_ms?,
    revoked?}``, strictly (an unknown field is an error: a misspelt ``expires_at_ms``
    must not make a key immortal). ``ConfigError`` names the record and its key_id."""
    if not isinstance(record, Mapping):
        raise ConfigError(f"API key record {n}: must be an object, got {type(record).__name__}")
    for name in _REQUIRED:
        if name not in record:
            raise ConfigError(f"API key record {n}: missing or malformed {name!r}")
    key_id = record["key_id"]
    if not isinstance(key_id, str) or not SAFE_KEY_ID.match(key_id):
        raise ConfigError(f"API key record {n}: key_id must be 1-128 of [A-Za-z0-9._~-], "
                          f"got {key_id!r}")
    where = f"API key record {n} ({key_id})"
    unknown = sorted(set(record) - set(KEY_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown fields {unknown}; known: {', '.join(KEY_FIELDS)}")
    roles = record["roles"]
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise ConfigError(f"{where}: roles must be a list of role names ({', '.join(ROLES)})")
    if set(roles) - set(ROLES):
        raise ConfigError(f"{where}: unknown roles {sorted(set(roles) - set(ROLES))}; "
                          f"known: {', '.join(ROLES)}")
    tenant = record["tenant"]
    if not isinstance(tenant, str) or not SAFE_TENANT.match(tenant):
        raise ConfigError(f"{where}: bad tenant {tenant!r} (1-128 of [A-Za-z0-9._~-])")
    key_hash = record["key_hash"]
    if not isinstance(key_hash, str) or not HEX64.match(key_hash.lower()):
        raise ConfigError(f"{where}: key_hash must be the 64-hex HMAC-SHA256 of the key")
    expires = record.get("expires_at_ms")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        raise ConfigError(f"{where}: expires_at_ms must be epoch milliseconds (an integer) "
                          f"or null, got {expires!r}")
    revoked = record.get("revoked", False)
    if not isinstance(revoked, bool):
        raise ConfigError(f"{where}: revoked must be true or false, got {revoked!r}")
    return ApiKey(key_id, key_hash.lower(), tenant, frozenset(roles), expires, revoked)


def parse_key_records(records: Iterable[object]) -> list[ApiKey]:
    """Every record parsed; a key_id or a key (its hash) used twice is an error too."""
    keys: list[ApiKey] = []
    ids: dict[str, int] = {}
    hashes: dict[str, int] = {}
    for n, record in enumerate(records):
        key = parse_key_record(n, record)
        where = f"API key record {n} ({key.key_id})"
        if key.key_id in ids:
            raise ConfigError(f"{where}: key_id is used by record {ids[key.key_id]} too")
        if key.key_hash in hashes:
            raise ConfigError(f"{where}: the same key as record {hashes[key.key_hash]}")
        ids[key.key_id], hashes[key.key_hash] = n, n
        keys.append(key)
    return keys


def key_record(key: ApiKey) -> dict[str, Any]:
    """The stored form of a key (``parse_key_record`` reads it back)."""
    return {"key_id": key.key_id, "key_hash": key.key_hash, "tenant": key.tenant,
            "roles": [r for r in ROLES if r in key.roles], "expires_at_ms": key.expires_at_ms,
            "revoked": key.revoked}


def hash_key(raw: str, secret: str) -> str:
    if not secret:
        raise ConfigError("the API key hash secret must be a non-empty string")
    return hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()


class KeyRing:
    """Hashed API keys; ``authenticate`` compares in constant time per candidate."""

    def __init__(self, secret: str, keys: Iterable[ApiKey] = ()) -> None:
        hash_key("probe", secret)  # fail at construction on an empty secret
        self.secret = secret
        self.by_hash = {k.key_hash: k for k in keys}

    @classmethod
    def from_records(cls, secret: str, records: Iterable[object]) -> KeyRing:
        """Keys as stored (never raw), e.g. from a JSON file or a secret store;
        ``ConfigError`` names the first bad record (``parse_key_records``)."""
        return cls(secret, parse_key_records(records))

    def add(self, raw: str, tenant: str, roles: Iterable[str], *, key_id: str | None = None,
            expires_at_ms: int | None = None) -> ApiKey:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ConfigError(f"unknown roles {sorted(unknown)}; known: {', '.join(ROLES)}")
        digest = hash_key(raw, self.secret)
        key = ApiKey(key_id or digest[:12], digest, tenant, frozenset(roles), expires_at_ms)
        self.by_hash[digest] = key
        return key

    def authenticate(self, raw: str, now_ms: int) -> ApiKey | None:
        digest = hash_key(raw, self.secret)
        key = self.by_hash.get(digest)
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            return None
        if key.revoked or (key.expires_at_ms is not None and now_ms >= key.expires_at_ms):
            return None
        return key


def _forbidden(code: str, detail: str) -> ServingError:
    return ServingError(detail, status=403, code=code)


def check_tenant(value: str) -> str:
    if not SAFE_TENANT.match(value):
        raise ServingError("tenant id must be a safe path segment ([A-Za-z0-9._~-], ≤128)",
                           status=400, code="RECSYS_INVALID_TENANT")
    return value


def resolve_principal(
    ring: KeyRing | None,
    api_key: str | None,
    tenant_header: str | None,
    now_ms: int,
    open_roles: frozenset[str] = frozenset(),
) -> Principal:
    """Who is calling, for which tenant; 401/403/400 problems otherwise."""
    header = tenant_header
    if header is not None:
        check_tenant(header)  # exact: a blank or padded header is a 400, not "absent"
    if ring is None:
        if header is None:
            raise _forbidden("RECSYS_TENANT_SCOPE_REQUIRED",
                             "the X-Org-Id header names the tenant and is required")
        return Principal(header, open_roles, "anonymous", "open")
    if not api_key:
        raise ServingError("an X-API-Key header is required", status=401,
                           code="RECSYS_AUTH_REQUIRED")
    key = ring.authenticate(api_key, now_ms)
    if key is None:
        raise ServingError("the API key is unknown, expired or revoked", status=401,
                           code="RECSYS_AUTH_INVALID")
    if header is not None and header != key.tenant:
        raise _forbidden("RECSYS_TENANT_SCOPE_MISMATCH",
                         "X-Org-Id does not match the tenant of the API key")
    return Principal(key.tenant, key.roles, key.key_id, "api_key")


def require_path_tenant(principal: Principal, path_tenant: str) -> None:
    check_tenant(path_tenant)
    if path_tenant != principal.tenant:
        raise _forbidden("RECSYS_TENANT_SCOPE_MISMATCH",
                         "the path tenant does not match the caller's tenant")


def require_roles(principal: Principal, roles: frozenset[str], what: str) -> None:
    if not principal.has_any(roles):
        raise _forbidden("RECSYS_FORBIDDEN", f"{what} needs one of the roles "
                         f"{', '.join(sorted(roles))}")
