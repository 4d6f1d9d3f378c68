"""The edge of every request: request ids, problem+json errors, auth, rate limits.

Order (spec §4.7): request-id echo → auth (API key or open mode) → tenant scope →
per-tenant rate limit; the handlers do role checks and backpressure.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from schemas.errors import ServingError
from serving.admission import Overloaded, RateLimited
from serving.auth import resolve_principal
from serving.keys import (
    API_KEY_HEADER,
    DEPS,
    GATE,
    GATED_PATHS,
    LIMITER,
    METRICS,
    PRINCIPAL,
    PUBLIC_PATHS,
    REQUEST_ID,
    RETURNED,
    TENANT_HEADER,
    WARNED,
)
from serving.problem import problem_response

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HTTP_CODES = {404: "RECSYS_NOT_FOUND", 405: "RECSYS_METHOD_NOT_ALLOWED",
              413: "RECSYS_PAYLOAD_TOO_LARGE", 415: "RECSYS_UNSUPPORTED_MEDIA_TYPE"}


def request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-Id", "").strip()
    if given and given.isprintable() and len(given) <= 128:
        return given
    return new_request_id()


def new_request_id() -> str:
    """``uuid.uuid4().hex`` (32 lower-case hex digits, version 4, RFC 4122 variant) from
    16 random bytes with the version and variant bits set: ~1.5 µs against ~7 µs."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id, turn every error into problem+json, and count it."""
    started = time.perf_counter()
    response = await _answer(request, handler)
    resource = request.match_info.route.resource
    endpoint = resource.canonical if resource is not None else "unmatched"
    if endpoint not in ("/metrics", "/healthz", "/readyz"):
        request.app[METRICS].observe(endpoint, response.status, time.perf_counter() - started,
                                     request.get(RETURNED), request.get(WARNED, 0))
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request_id(request)
    request[REQUEST_ID] = rid
    try:
        response = await handler(request)
    except ServingError as exc:
        retry = {"Retry-After": str(exc.retry_after_s)} if isinstance(
            exc, RateLimited | Overloaded) else {}
        return problem_response(exc.code, str(exc), instance=request.path, request_id=rid,
                                headers=retry)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "RECSYS_INVALID_REQUEST")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return problem_response(code, exc.reason, instance=request.path, request_id=rid,
                                headers=headers)
    except Exception:
        log.exception("unhandled error on %s", request.path)
        return problem_response("RECSYS_INTERNAL", "internal error", instance=request.path,
                                request_id=rid)
    if not response.prepared:
        response.headers.setdefault("X-Request-Id", rid)
    return response


OPS_PREFIXES = ("/v1/admin/", "/v1/live/")


def _bucket(tenant: str, path: str) -> tuple[str, str]:
    """A tenant's rate-limit bucket: one for serving traffic, one for the admin and live
    APIs, so a traffic spike cannot lock operators out of a rollback (and a busy
    dashboard cannot starve serving)."""
    return (tenant, "ops" if path.startswith(OPS_PREFIXES) else "serving")


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the caller and its tenant, then take a token from the tenant's bucket."""
    if request.path in PUBLIC_PATHS or not request.path.startswith("/v1/"):
        return await handler(request)
    deps = request.app[DEPS]
    principal = resolve_principal(
        deps.keys, request.headers.get(API_KEY_HEADER), request.headers.get(TENANT_HEADER),
        deps.clock_ms(), deps.settings.open_roles)
    request[PRINCIPAL] = principal
    limiter = request.app[LIMITER]
    if limiter is not None:
        limiter.check(_bucket(principal.tenant, request.path))
    if request.path not in GATED_PATHS:
        return await handler(request)
    gate = request.app[GATE]
    gate.enter()  # backpressure: 503 with Retry-After past max_inflight
    try:
        return await handler(request)
    finally:
        gate.leave()
