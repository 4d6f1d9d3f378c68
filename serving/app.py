"""The serving application factory: ``create_app(deps) -> web.Application``.

Routes: ``POST /v1/recommend``, ``/v1/recommend/validate``, ``/v1/similar``; the admin
API under ``/v1/admin/tenants/{tenant_id}/``; with ``deps.live`` the live evaluation API
``/v1/live/*`` and ``/dashboard`` (``serving.live_http``); ``/healthz``, ``/readyz``,
``/openapi.json``. A ``cleanup_ctx`` starts ``deps.resources`` (view reader, config
store) and the event sink before serving, and on shutdown drains the sink (queued
exposures are produced) before stopping the resources in reverse order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import yaml
from aiohttp import web

from schemas.errors import ConfigError
from serving import admin, handlers
from serving.admission import InFlightGate, RateLimiter
from serving.deps import ServingDeps
from serving.keys import DEPS, GATE, LIMITER, METRICS, TENANTS
from serving.live_http import add_live_routes
from serving.metrics import ServingMetrics
from serving.middleware import access_middleware, edge_middleware
from serving.openapi import document
from serving.tenants import TenantCache


async def _resources_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the resources, then the sink; on shutdown drain the sink, then stop them."""
    deps = app[DEPS]
    started = []
    try:
        for resource in deps.resources:
            await resource.start()
            started.append(resource)
        await deps.sink.start()
        try:
            yield
        finally:
            await deps.sink.stop()
    finally:
        for resource in reversed(started):
            await resource.stop()


def _openapi(doc: dict[str, object]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        return handlers.json_response(doc)

    return serve


def _openapi_yaml(doc: dict[str, object]) -> Callable[[web.Request], Awaitable[web.Response]]:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/yaml", charset="utf-8")

    return serve


def create_app(deps: ServingDeps) -> web.Application:
    """The HTTP application over the given views, sink, config store and settings."""
    settings = deps.settings
    if settings.retry_after_s < 1:
        raise ConfigError("retry_after_s must be ≥ 1")
    app = web.Application(middlewares=[edge_middleware, access_middleware],
                          client_max_size=settings.max_body_bytes)
    app[DEPS] = deps
    app[TENANTS] = TenantCache(deps.config_store)
    app[LIMITER] = (RateLimiter(settings.rate_capacity, settings.rate_refill_per_s,
                                deps.monotonic) if settings.rate_refill_per_s > 0 else None)
    app[GATE] = InFlightGate(settings.max_inflight, settings.retry_after_s)
    app[METRICS] = ServingMetrics()
    app.cleanup_ctx.append(_resources_ctx)
    r = app.router
    r.add_post("/v1/recommend", handlers.recommend)
    r.add_post("/v1/recommend/validate", handlers.validate)
    r.add_post("/v1/similar", handlers.similar_items)
    base = "/v1/admin/tenants/{tenant_id}"
    r.add_get(f"{base}/config", admin.get_config, allow_head=False)
    r.add_put(f"{base}/config", admin.put_config)
    r.add_get(f"{base}/rules", admin.get_rules, allow_head=False)
    r.add_put(f"{base}/rules", admin.put_rules)
    r.add_post(f"{base}/cache/invalidate", admin.invalidate)
    r.add_get(f"{base}/audit", admin.audit, allow_head=False)
    r.add_get("/healthz", handlers.healthz, allow_head=False)
    r.add_get("/readyz", handlers.readyz, allow_head=False)
    r.add_get("/metrics", handlers.metrics, allow_head=False)
    if deps.live is not None:
        add_live_routes(app, deps.live)
    if settings.docs_enabled:
        doc = document(live=deps.live is not None)
        r.add_get("/openapi.json", _openapi(doc), allow_head=False)
        r.add_get("/openapi.yaml", _openapi_yaml(doc), allow_head=False)
    return app
