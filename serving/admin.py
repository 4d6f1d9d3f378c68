"""The admin API (spec §4.6): tenant config and rules, cache invalidation, audit.

Every route is scoped: the path ``{tenant_id}`` must be the caller's tenant (403
otherwise), GETs need viewer/operator/admin, writes operator/admin. Documents are
validated before they are stored; ETags are the content hashes, quoted in headers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemas.errors import ContractError, ServingError
from schemas.timestamps import rfc3339_to_ms
from serving import fields as f
from serving.auth import READ_ROLES, WRITE_ROLES, Principal, require_path_tenant, require_roles
from serving.config_store import Actor, Version
from serving.handlers import json_response
from serving.keys import DEPS, PRINCIPAL, REQUEST_ID, TENANTS
from serving.rules_doc import check_reachable, parse_rules
from serving.tenant_config import check_writable, parse_config

TARGETS = ("config", "rules", "popularity")
VERSION_FIELD = {"config": "config_version", "rules": "rules_version"}
NOT_FOUND = {"config": "RECSYS_CONFIG_NOT_FOUND", "rules": "RECSYS_RULES_NOT_FOUND"}


def _scoped(request: web.Request, roles: frozenset[str], what: str) -> tuple[str, Principal]:
    principal = request[PRINCIPAL]
    tenant = request.match_info["tenant_id"]
    require_path_tenant(principal, tenant)
    require_roles(principal, roles, what)
    return tenant, principal


def _actor(request: web.Request, principal: Principal) -> Actor:
    return Actor(principal.subject, principal.kind, request[REQUEST_ID],
                 request.remote or "", request.headers.get("User-Agent", ""))


def _etag(value: str) -> str:
    return f'"{value}"'


def _versioned(tenant: str, kind: str, etag: str, document: Any) -> web.Response:
    return json_response({"tenant_id": tenant, VERSION_FIELD[kind]: etag, kind: document},
                         headers={"ETag": _etag(etag)})


def _if_match(header: str | None, current: Version | None) -> str | None:
    """The ETag a write expects to replace: ``*``, the current one when the header lists
    it (RFC 9110 allows a list), else the first listed (the store answers 409)."""
    if header is None:
        return None
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    tags = [t for t in tags if t]
    if "*" in tags:
        return "*"
    if current is not None and current.etag in tags:
        return current.etag
    return tags[0] if tags else ""


def _document(kind: str) -> Any:
    async def get(request: web.Request) -> web.Response:
        tenant, _ = _scoped(request, READ_ROLES, f"reading {kind}")
        version = request.app[DEPS].config_store.current(tenant, kind)
        if version is None:
            raise ServingError(f"tenant {tenant} has no {kind}", status=404,
                               code=NOT_FOUND[kind])
        return _versioned(tenant, kind, version.etag, version.document)

    async def put(request: web.Request) -> web.Response:
        tenant, principal = _scoped(request, WRITE_ROLES, f"writing {kind}")
        doc = f.load_json(await request.read())
        engine = request.app[DEPS].settings.engine
        if kind == "config":
            check_writable(parse_config(doc))
        else:
            check_reachable(parse_rules(doc, tenant), engine.brand_prefixes,
                            engine.category_prefixes)
        deps = request.app[DEPS]
        if_match = _if_match(request.headers.get("If-Match"),
                             deps.config_store.current(tenant, kind))
        version = await deps.config_store.put(tenant, kind, doc, if_match=if_match,
                                              actor=_actor(request, principal),
                                              now_ms=deps.clock_ms())
        request.app[TENANTS].invalidate(tenant, kind)
        return _versioned(tenant, kind, version.etag, version.document)

    return get, put


get_config, put_config = _document("config")
get_rules, put_rules = _document("rules")


async def invalidate(request: web.Request) -> web.Response:
    tenant, principal = _scoped(request, WRITE_ROLES, "cache invalidation")
    doc = f.load_object(await request.read())
    f.reject_unknown(doc, frozenset({"targets", "surface"}), "")
    targets = f.str_list(doc, "targets", "", 10, lower=True) or TARGETS
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ServingError(f"unknown targets {unknown}; known: {', '.join(TARGETS)}",
                           status=422, code="RECSYS_INVALID_TARGETS")
    surface = f.opt_str(doc, "surface", "", 128)
    deps = request.app[DEPS]
    counts: dict[str, int] = {}
    for target in targets:
        if target == "popularity":
            hook = deps.invalidate_popularity
            counts[target] = hook(tenant, surface) if hook is not None else 0
        else:
            counts[target] = request.app[TENANTS].invalidate(tenant, target)
    await deps.config_store.record(tenant, _actor(request, principal), "cache.invalidate",
                                   "cache", ",".join(targets), deps.clock_ms(),
                                   {"targets": list(targets), "surface": surface,
                                    "invalidated": counts})
    return json_response({"tenant_id": tenant, "targets": list(targets), "surface": surface,
                          "status": "applied", "invalidated": counts})


def _audit_query(request: web.Request) -> tuple[int, int | None, int | None]:
    q = request.query
    try:
        limit = int(q.get("limit", "100"))
        before_id = int(q["before_id"]) if "before_id" in q else None
    except ValueError as exc:
        raise f.unprocessable("limit and before_id must be integers") from exc
    if not 1 <= limit <= 200:
        raise f.unprocessable("limit must be between 1 and 200")
    before_ms = None
    if "before" in q:
        try:
            before_ms = rfc3339_to_ms(q["before"])
        except ContractError as exc:
            raise f.unprocessable("before must be an RFC 3339 date-time") from exc
    return limit, before_ms, before_id


async def audit(request: web.Request) -> web.Response:
    tenant, principal = _scoped(request, READ_ROLES, "reading the audit trail")
    limit, before_ms, before_id = _audit_query(request)
    entries = await request.app[DEPS].config_store.audit(
        tenant, limit=limit, before_ms=before_ms, before_id=before_id)
    with_states = principal.has_any(WRITE_ROLES)
    return json_response({"tenant_id": tenant,
                          "entries": [e.to_json(with_states=with_states) for e in entries]})
