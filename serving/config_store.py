"""Versioned tenant documents (config, rules) and the audit trail, behind a protocol.

Versions are immutable and named by their content hash (the ETag); a tenant's current
pointer moves on every write, re-PUTting old content moves it back (rollback), and a
stale ``If-Match`` is a 409 ``RECSYS_VERSION_MISMATCH``. Every write and every cache
invalidation appends an audit entry. ``current`` is synchronous: stores serve it from an
in-memory snapshot, so the request path never waits on I/O for it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from schemas.errors import ServingError
from schemas.timestamps import ms_to_rfc3339
from serving.tenant_config import content_etag

KINDS = ("config", "rules")


@dataclass(frozen=True, slots=True)
class Version:
    tenant: str
    kind: str
    etag: str
    document: Any
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    kind: str = "api_key"
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at_ms: int
    tenant_id: str
    actor: Actor
    action: str
    entity_type: str
    entity_id: str
    before_state: Any = None
    after_state: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, *, with_states: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "occurred_at": ms_to_rfc3339(self.occurred_at_ms),
            "tenant_id": self.tenant_id,
            "actor_sub": self.actor.subject,
            "actor_type": self.actor.kind,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "request_id": self.actor.request_id,
            "ip": self.actor.ip,
            "user_agent": self.actor.user_agent,
        }
        if with_states:
            doc.update(before_state=self.before_state, after_state=self.after_state,
                       extra=self.extra)
        return doc


def audit_for_write(tenant: str, kind: str, actor: Actor, now_ms: int,
                    before: Version | None, after: Version) -> AuditEntry:
    """The entry of a document write (id 0: the store assigns the real one)."""
    extra: dict[str, Any] = {"before_version": before.etag if before else None}
    return AuditEntry(0, now_ms, tenant, actor, f"{kind}.update", kind, after.etag,
                      before.document if before else None, after.document, extra)


def version_mismatch(kind: str, given: str, current: str | None) -> ServingError:
    return ServingError(
        f"If-Match {given!r} is stale: the current {kind} version is {current or 'none'}",
        status=409, code="RECSYS_VERSION_MISMATCH")


def check_if_match(kind: str, if_match: str | None, before: Version | None) -> None:
    """``If-Match`` must name the current version (``*`` or absent: last write wins)."""
    if if_match is not None and if_match != "*" and (before is None or before.etag != if_match):
        raise version_mismatch(kind, if_match, before.etag if before else None)


class ConfigStore(Protocol):
    def current(self, tenant: str, kind: str) -> Version | None:
        """The current version of a tenant's document, or None when there is none."""
        ...

    async def put(self, tenant: str, kind: str, document: Any, *, if_match: str | None,
                  actor: Actor, now_ms: int) -> Version:
        """Make ``document`` current (409 on a stale ``if_match``) and audit the write."""
        ...

    async def record(self, tenant: str, actor: Actor, action: str, entity_type: str,
                     entity_id: str, now_ms: int, extra: dict[str, Any]) -> AuditEntry:
        """Append an audit entry that is not a document write (e.g. cache invalidation)."""
        ...

    async def audit(self, tenant: str, *, limit: int, before_ms: int | None = None,
                    before_id: int | None = None) -> list[AuditEntry]:
        """A tenant's audit entries, newest first."""
        ...


class InMemoryConfigStore:
    """The in-process store (tests, single replica); same semantics as the Kafka one."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str, str], Version] = {}
        self.pointers: dict[tuple[str, str], str] = {}
        self.entries: list[AuditEntry] = []
        self._ids = itertools.count(1)

    def current(self, tenant: str, kind: str) -> Version | None:
        etag = self.pointers.get((tenant, kind))
        return None if etag is None else self.versions[(tenant, kind, etag)]

    async def put(self, tenant: str, kind: str, document: Any, *, if_match: str | None,
                  actor: Actor, now_ms: int) -> Version:
        before = self.current(tenant, kind)
        check_if_match(kind, if_match, before)
        etag = content_etag(document)
        version = self.versions.setdefault(
            (tenant, kind, etag), Version(tenant, kind, etag, document, now_ms))
        self.pointers[(tenant, kind)] = etag
        self._append(audit_for_write(tenant, kind, actor, now_ms, before, version))
        return version

    async def record(self, tenant: str, actor: Actor, action: str, entity_type: str,
                     entity_id: str, now_ms: int, extra: dict[str, Any]) -> AuditEntry:
        return self._append(AuditEntry(0, now_ms, tenant, actor, action, entity_type,
                                       entity_id, None, None, dict(extra)))

    def _append(self, entry: AuditEntry) -> AuditEntry:
        stored = replace(entry, id=next(self._ids))
        self.entries.append(stored)
        return stored

    async def audit(self, tenant: str, *, limit: int, before_ms: int | None = None,
                    before_id: int | None = None) -> list[AuditEntry]:
        out = [e for e in reversed(self.entries) if e.tenant_id == tenant
               and (before_ms is None or e.occurred_at_ms < before_ms)
               and (before_id is None or e.id < before_id)]
        return out[:limit]
