"""Typed aiohttp application and request keys of the serving app."""

from __future__ import annotations

from aiohttp import web

from serving.admission import InFlightGate, RateLimiter
from serving.auth import Principal
from serving.deps import ServingDeps
from serving.metrics import ServingMetrics
from serving.tenants import TenantCache

DEPS: web.AppKey[ServingDeps] = web.AppKey("deps", ServingDeps)
TENANTS: web.AppKey[TenantCache] = web.AppKey("tenants", TenantCache)
LIMITER: web.AppKey[RateLimiter | None] = web.AppKey("limiter", object)  # type: ignore[arg-type]
GATE: web.AppKey[InFlightGate] = web.AppKey("gate", InFlightGate)
METRICS: web.AppKey[ServingMetrics] = web.AppKey("metrics", ServingMetrics)
RETURNED: web.RequestKey[int] = web.RequestKey("returned", int)
WARNED: web.RequestKey[int] = web.RequestKey("warned", int)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)

TENANT_HEADER = "X-Org-Id"
API_KEY_HEADER = "X-API-Key"
GATED_PATHS = frozenset({"/v1/recommend", "/v1/similar"})
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/openapi.yaml",
                          "/metrics"})
