"""The aiohttp layer: routes, request ids, problem+json errors. Logic lives elsewhere."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from schemas.errors import ServingError
from serving.contract import parse_recommend
from serving.problem import problem_response
from serving.ranking import rank_by_engagement
from serving.views import BrokerProbe, CountsView

log = logging.getLogger(__name__)

COUNTS: web.AppKey[CountsView] = web.AppKey("counts", CountsView)
BROKER: web.AppKey[BrokerProbe | None] = web.AppKey("broker", object)  # type: ignore[arg-type]
TENANT_HEADER = "X-Org-Id"
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
MAX_BODY = 1 << 20
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-Id", "").strip()
    return given[:128] if given else uuid.uuid4().hex


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id; turn every error into problem+json."""
    rid = _request_id(request)
    request[REQUEST_ID] = rid
    try:
        response = await handler(request)
    except ServingError as exc:
        return problem_response(exc.code, str(exc), instance=request.path, request_id=rid)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "RECSYS_NOT_FOUND", 405: "RECSYS_METHOD_NOT_ALLOWED"}.get(
            exc.status, "RECSYS_INVALID_REQUEST"
        )
        return problem_response(code, exc.reason, instance=request.path, request_id=rid)
    except Exception:
        log.exception("unhandled error on %s", request.path)
        return problem_response(
            "RECSYS_INTERNAL", "internal error", instance=request.path, request_id=rid
        )
    response.headers.setdefault("X-Request-Id", rid)
    return response


def _json(
    data: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(data), content_type="application/json", headers=headers
    )


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    broker = request.app[BROKER]
    checks = {
        "broker": await broker.reachable() if broker is not None else True,
        "tables": request.app[COUNTS].ready(),
    }
    ok = all(checks.values())
    return _json({"ready": ok, "checks": checks}, status=200 if ok else 503)


async def recommend(request: web.Request) -> web.Response:
    started = time.perf_counter()
    tenant = request.headers.get(TENANT_HEADER, "").strip()
    if not tenant:
        raise ServingError(
            f"the {TENANT_HEADER} header names the tenant and is required",
            status=403,
            code="RECSYS_TENANT_SCOPE_REQUIRED",
        )
    body = await request.read()
    req = parse_recommend(body)
    ranked = rank_by_engagement(request.app[COUNTS].counts(tenant, req.surface), req.k)
    meta: dict[str, object] = {
        "tenant_id": tenant,
        "surface": req.surface,
        "segment": req.segment,
        "algo_version": "engagement_count_v0",
        "config_version": "",
        "rules_version": "",
        "request_id": request[REQUEST_ID],
        "timings_ms": {"total": round((time.perf_counter() - started) * 1000, 3)},
    }
    if ranked:
        meta["counts"] = {"returned": len(ranked)}
    return _json(
        {
            "items": [{"item_id": r.item_id, "rank": r.rank, "score": r.score} for r in ranked],
            "meta": meta,
            "warnings": [w.to_json() for w in req.warnings],
        },
        headers={"Cache-Control": "no-store"},
    )


def make_app(counts: CountsView, broker: BrokerProbe | None = None) -> web.Application:
    """The HTTP application over a counts view (in-memory fake or the live tables)."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app[COUNTS] = counts
    app[BROKER] = broker
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/v1/recommend", recommend)
    return app
