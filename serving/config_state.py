"""The config store's state as a fold over log records (pure; shared by the Kafka store).

Config topic (compacted, one partition): ``<tenant>/<kind>@<etag>`` → the immutable
version, ``<tenant>/<kind>`` → the current pointer (carrying its document, so the latest
pointer alone restores the current state after compaction). Audit topic (append-only,
one partition): one entry per record, its id = offset + 1, so ids are the same on
every replica.
"""

from __future__ import annotations

import orjson

from serving.config_store import Actor, AuditEntry, Version


def version_key(v: Version) -> bytes:
    return f"{v.tenant}/{v.kind}@{v.etag}".encode()


def pointer_key(tenant: str, kind: str) -> bytes:
    return f"{tenant}/{kind}".encode()


def encode_version(v: Version) -> bytes:
    return orjson.dumps({"tenant": v.tenant, "kind": v.kind, "etag": v.etag,
                         "document": v.document, "created_at_ms": v.created_at_ms})


def decode_version(raw: bytes) -> Version:
    d = orjson.loads(raw)
    return Version(d["tenant"], d["kind"], d["etag"], d["document"], d["created_at_ms"])


def encode_audit(e: AuditEntry) -> bytes:
    a = e.actor
    return orjson.dumps({
        "occurred_at_ms": e.occurred_at_ms, "tenant_id": e.tenant_id,
        "actor": {"subject": a.subject, "kind": a.kind, "request_id": a.request_id,
                  "ip": a.ip, "user_agent": a.user_agent},
        "action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id,
        "before_state": e.before_state, "after_state": e.after_state, "extra": e.extra,
    })


def decode_audit(raw: bytes, offset: int) -> AuditEntry:
    d = orjson.loads(raw)
    return AuditEntry(offset + 1, d["occurred_at_ms"], d["tenant_id"], Actor(**d["actor"]),
                      d["action"], d["entity_type"], d["entity_id"], d["before_state"],
                      d["after_state"], d["extra"])


class ConfigState:
    def __init__(self) -> None:
        self.versions: dict[tuple[str, str, str], Version] = {}
        self.pointers: dict[tuple[str, str], str] = {}
        self.entries: dict[int, AuditEntry] = {}

    def current(self, tenant: str, kind: str) -> Version | None:
        etag = self.pointers.get((tenant, kind))
        return None if etag is None else self.versions.get((tenant, kind, etag))

    def apply_version(self, v: Version, *, pointer: bool) -> None:
        self.versions.setdefault((v.tenant, v.kind, v.etag), v)
        if pointer:
            self.pointers[(v.tenant, v.kind)] = v.etag

    def apply_config_record(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or value is None:
            return
        self.apply_version(decode_version(value), pointer=b"@" not in key)

    def apply_audit(self, entry: AuditEntry) -> None:
        self.entries[entry.id] = entry

    def audit(self, tenant: str, limit: int, before_ms: int | None,
              before_id: int | None) -> list[AuditEntry]:
        out = [e for _, e in sorted(self.entries.items(), reverse=True)
               if e.tenant_id == tenant
               and (before_ms is None or e.occurred_at_ms < before_ms)
               and (before_id is None or e.id < before_id)]
        return out[:limit]
