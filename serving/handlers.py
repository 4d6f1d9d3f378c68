"""The recommend, validate and similar endpoints (thin: parse → engine → respond → log)."""

from __future__ import annotations

import inspect
import time
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web

from schemas.errors import ServingError
from schemas.timestamps import ms_to_rfc3339
from serving.deps import ServingSettings
from serving.engine.model import RankQuery, RankResult, ViewSet
from serving.engine.pipeline import rank
from serving.engine.warnings import ordered
from serving.engine.weights import normalize_mode, resolve_weights
from serving.experiments import Arm, assign, assignment_subject
from serving.exposure import Served, ServedExposure, assignment_event, pseudonymous_user
from serving.keys import DEPS, GATE, METRICS, PRINCIPAL, REQUEST_ID, RETURNED, TENANTS, WARNED
from serving.metrics import render_live
from serving.request import RecommendRequest, parse_recommend
from serving.similar import parse_similar, similar
from serving.tenant_config import (
    CATALOG_FALLBACK,
    TenantConfig,
    VariantOverride,
    enforce_limits,
    limit_k,
)
from serving.tenants import TenantState

NO_STORE = {"Cache-Control": "no-store"}


def json_response(data: object, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data),
                        content_type="application/json", headers=headers)


def gate_explain(req: RecommendRequest, roles: frozenset[str], max_items: int,
                 require_admin: bool) -> None:
    """Explain gating (spec §4.2): 422 for too many explained items, 403 without admin."""
    if req.explain != "none" and req.k > max_items:
        raise ServingError(f"explain is limited to k ≤ {max_items}", status=422,
                           code="RECSYS_EXPLAIN_TOO_LARGE")
    if require_admin and (req.explain == "full" or req.include_trace) and "admin" not in roles:
        raise ServingError("explain=full and include_trace need the admin role", status=403,
                           code="RECSYS_FORBIDDEN")


async def _body(request: web.Request) -> bytes:
    return await request.read()


def _meta(request: web.Request, tenant: str, surface: str, segment: str, algo: str,
          state: TenantState | None, returned: int, started: float) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "tenant_id": tenant,
        "surface": surface,
        "segment": segment,
        "algo_version": algo,
        "config_version": state.config_version if state else "",
        "rules_version": state.rules_version if state else "",
        "request_id": request[REQUEST_ID],
    }
    if returned:
        meta["counts"] = {"returned": returned}
    meta["timings_ms"] = {"total": round((time.perf_counter() - started) * 1000, 3)}
    return meta


async def _send_then_log(request: web.Request, response: web.Response, served: Served) -> None:
    """Write the response first; exposure (and assignment) logging never delays it."""
    await response.prepare(request)
    await response.write_eof()
    deps = request.app[DEPS]
    salt = deps.settings.exposure_salt
    deps.sink.emit(ServedExposure(served, salt))
    assignment = assignment_event(served, salt)
    if assignment is None:
        return
    # once per unit (settings.assignment_logging): the SRM test counts these records
    log = deps.assignments
    key = (served.tenant, assignment.experiment_id, assignment.variant, assignment.user_id)
    if (log is None or log.first(key)) and not deps.sink.emit(assignment) and log is not None:
        log.forget(key)  # dropped by a full queue: the unit's next request logs it


def history_key(req: RecommendRequest, settings: ServingSettings) -> str | None:
    """The id the history view is keyed by: the events' pseudonymous user id (spec §1.10
    order, without the request-id fallback), or the raw user_id when so configured."""
    if not settings.history_ids_pseudonymous:
        return req.user.user_id
    key = pseudonymous_user(req.user, "", settings.exposure_salt)
    return key or None


def effective_algo(config: TenantConfig, override: VariantOverride | None) -> str | None:
    """The algo of the request: the variant's, else the tenant config's."""
    if override is not None and override.algo:
        return override.algo
    return config.algo


def _rank(request: web.Request, req: RecommendRequest, state: TenantState,
          tenant: str, now_ms: int,
          override: VariantOverride | None = None) -> tuple[RankResult, str]:
    """Rank with the weights of: request ``weights`` (per field) > the assigned variant's
    ``weights`` > the tenant config's (spec §5.1 resolution on top); the mode is the
    variant's ``algo``, else the tenant's."""
    deps = request.app[DEPS]
    w = req.weights
    base = state.config.weights
    if override is not None and override.weights is not None:
        base = override.weights
    mode = normalize_mode(effective_algo(state.config, override))
    weights, model = resolve_weights(base, mode,
                                     None if w is None else (w.pop, w.cooc, w.emb))
    query = RankQuery(
        tenant=tenant, surface=req.surface, segment=req.segment, k=req.k, now_ms=now_ms,
        weights=weights, mode=mode, user_id=history_key(req, deps.settings),
        anchors=req.anchors[: req.max_anchors], include_ids=req.include_ids,
        exclude_ids=req.exclude_ids, required_tags=req.required_tags,
        forbidden_tags=req.forbidden_tags, max_per_tag=req.max_per_tag, rules=state.rules,
        include_reasons=req.include_reasons, explain=req.explain,
        catalog_fill=state.config.flag(CATALOG_FALLBACK, True),
    )
    views = ViewSet(deps.popularity, deps.covisitation, deps.catalog, deps.history)
    return rank(query, views, deps.settings.engine), model


async def recommend(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    deps = request.app[DEPS]
    principal = request[PRINCIPAL]
    req = parse_recommend(await _body(request))
    settings = deps.settings
    gate_explain(req, principal.roles, settings.explain_max_items, settings.explain_require_admin)
    state = request.app[TENANTS].state(principal.tenant)
    req = enforce_limits(state.config, req)
    now_ms = req.context.now_ms if req.context.now_ms is not None else deps.clock_ms()
    subject = assignment_subject(req.user.user_id, req.user.session_id, req.user.anonymous_id)
    # the tenant config's definition of the experiment wins over the startup one
    configured = state.config.experiments.get(req.experiment_id or "")
    definitions = ({configured.definition.id: configured.definition} if configured
                   else settings.experiments_by_id)
    arm: Arm | None = assign(req.experiment_id, req.experiment_variant, subject, req.surface,
                             now_ms, settings.assignment_salt, definitions,
                             settings.default_variants)
    override = configured.override(arm.variant) if configured and arm else None
    algo_name = effective_algo(state.config, override)
    algo = settings.algo_version + (f":{algo_name}" if algo_name else "")
    ts = ms_to_rfc3339(deps.clock_ms())

    def served(items: tuple[str, ...], error: bool = False) -> Served:
        return Served(request[REQUEST_ID], principal.tenant, req.surface, ts, items,
                      req.segment, req.user, req.context, algo, state.config_version,
                      state.rules_version, arm, (time.perf_counter() - started) * 1000, error)

    try:
        result, _model = _rank(request, req, state, principal.tenant, now_ms, override)
    except Exception:
        deps.sink.emit(ServedExposure(served((), error=True), settings.exposure_salt))
        raise
    meta = _meta(request, principal.tenant, req.surface, req.segment, algo, state,
                 len(result.items), started)
    if arm is not None:
        meta["experiment"] = {"id": arm.experiment_id, "variant": arm.variant}
    doc = {
        "items": [i.to_json() for i in result.items],
        "meta": meta,
        "warnings": [w.to_json() for w in ordered(req.warnings + result.warnings)],
    }
    request[RETURNED], request[WARNED] = len(result.items), len(doc["warnings"])
    response = json_response(doc, headers={**NO_STORE, "X-Request-Id": request[REQUEST_ID]})
    await _send_then_log(request, response, served(tuple(i.item_id for i in result.items)))
    return response


async def validate(request: web.Request) -> web.Response:
    """The normalised request and its early warnings, within the tenant's limits (the
    same 422 as recommend); no ranking, assignment or gating."""
    req = parse_recommend(await _body(request))
    req = enforce_limits(request.app[TENANTS].state(request[PRINCIPAL].tenant).config, req)
    return json_response({
        "request": req.to_json(),
        "warnings": [w.to_json() for w in ordered(req.warnings)],
        "meta": {"tenant_id": request[PRINCIPAL].tenant, "request_id": request[REQUEST_ID]},
    }, headers=NO_STORE)


async def similar_items(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    deps = request.app[DEPS]
    tenant = request[PRINCIPAL].tenant
    req = parse_similar(await _body(request))
    k, limited = limit_k(request.app[TENANTS].state(tenant).config, req.k, req.warnings)
    if k != req.k:
        req = replace(req, k=k, warnings=limited)
    items, warnings = similar(req, tenant, deps.covisitation, deps.catalog)
    algo = deps.settings.algo_version
    doc = {
        "items": [i.to_json() for i in items],
        "meta": _meta(request, tenant, req.surface, req.segment, algo, None, len(items),
                      started),
        "warnings": [w.to_json() for w in ordered(req.warnings + tuple(warnings))],
    }
    request[RETURNED], request[WARNED] = len(items), len(doc["warnings"])
    response = json_response(doc, headers={**NO_STORE, "X-Request-Id": request[REQUEST_ID]})
    served = Served(request[REQUEST_ID], tenant, req.surface, ms_to_rfc3339(deps.clock_ms()),
                    tuple(i.item_id for i in items), req.segment, algo_version=algo,
                    latency_ms=(time.perf_counter() - started) * 1000)
    await _send_then_log(request, response, served)
    return response


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, bool] = {}
    for name, check in request.app[DEPS].ready_checks.items():
        try:
            result = check()
            checks[name] = bool(await result if inspect.isawaitable(result) else result)
        except Exception:
            checks[name] = False
    ok = all(checks.values())
    return json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition (no tenant, user or request labels)."""
    sink = request.app[DEPS].sink
    gauges = {"recsys_backpressure_rejections_total": request.app[GATE].rejected}
    for name in ("dropped", "sent", "failed"):
        value = getattr(sink, name, None)
        if isinstance(value, int):
            gauges[f"recsys_events_{name}_total"] = value
    text = request.app[METRICS].render(gauges)
    live = request.app[DEPS].live
    if live is not None:
        text += render_live(live)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
