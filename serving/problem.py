"""RFC 7807 problem+json responses with stable codes (spec §4.8)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

PROBLEM_TYPE_BASE = "https://errors.recsys.example/problem/"
CONTENT_TYPE = "application/problem+json"

#: stable code → HTTP status (one table; the HTTP layer maps every error through it)
STATUS_FOR_CODE: dict[str, int] = {
    "RECSYS_INVALID_REQUEST": 400,
    "RECSYS_INVALID_TENANT": 400,
    "RECSYS_AUTH_REQUIRED": 401,
    "RECSYS_AUTH_INVALID": 401,
    "RECSYS_FORBIDDEN": 403,
    "RECSYS_TENANT_SCOPE_REQUIRED": 403,
    "RECSYS_TENANT_SCOPE_MISMATCH": 403,
    "RECSYS_TENANT_SCOPE_INVALID": 403,
    "RECSYS_NOT_FOUND": 404,
    "RECSYS_CONFIG_NOT_FOUND": 404,
    "RECSYS_RULES_NOT_FOUND": 404,
    "RECSYS_OPENAPI_NOT_FOUND": 404,
    "RECSYS_METHOD_NOT_ALLOWED": 405,
    "RECSYS_VERSION_MISMATCH": 409,
    "RECSYS_PAYLOAD_TOO_LARGE": 413,
    "RECSYS_UNSUPPORTED_MEDIA_TYPE": 415,
    "RECSYS_UNPROCESSABLE_ENTITY": 422,
    "RECSYS_EXPLAIN_TOO_LARGE": 422,
    "RECSYS_LIMIT_EXCEEDED": 422,
    "RECSYS_INVALID_CONFIG": 422,
    "RECSYS_INVALID_RULES": 422,
    "RECSYS_INVALID_TARGETS": 422,
    "RECSYS_RATE_LIMITED": 429,
    "RECSYS_INTERNAL": 500,
    "RECSYS_OVERLOADED": 503,
    "RECSYS_NOT_READY": 503,
}


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_BASE + code.lower().replace("_", "-")


def problem_body(code: str, detail: str, *, instance: str, request_id: str) -> dict[str, Any]:
    status = STATUS_FOR_CODE[code]
    return {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": request_id,
    }


def problem_response(
    code: str, detail: str, *, instance: str, request_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = problem_body(code, detail, instance=instance, request_id=request_id)
    return web.Response(
        status=body["status"],
        body=orjson.dumps(body),
        content_type=CONTENT_TYPE,
        headers={"X-Request-Id": request_id, **(headers or {})},
    )
