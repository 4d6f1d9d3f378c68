"""Every problem code over HTTP: (request, status, code, detail regex), plus headers."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from tests.unit.serving.app_fixtures import harness

OK = {"surface": "home", "k": 3, "user": {"user_id": "u1"}}
ADMIN = "/v1/admin/tenants/t1"

# (method, path, json body or raw bytes, headers, status, code, detail regex)
CASES: list[tuple[str, str, Any, dict[str, str], int, str, str]] = [
    ("POST", "/v1/recommend", b"{", {}, 400, "RECSYS_INVALID_REQUEST", "malformed JSON"),
    ("POST", "/v1/recommend", {**OK, "tenant_id": "t1"}, {}, 400, "RECSYS_INVALID_REQUEST",
     "unknown field 'tenant_id'"),
    ("POST", "/v1/recommend", OK, {"X-Org-Id": "t 1"}, 400, "RECSYS_INVALID_TENANT",
     "safe path segment"),
    ("POST", "/v1/recommend", OK, {"X-API-Key": ""}, 401, "RECSYS_AUTH_REQUIRED", "X-API-Key"),
    ("POST", "/v1/recommend", OK, {"X-API-Key": "nope"}, 401, "RECSYS_AUTH_INVALID",
     "unknown, expired or revoked"),
    ("POST", "/v1/recommend", OK, {"X-Org-Id": "t2"}, 403, "RECSYS_TENANT_SCOPE_MISMATCH",
     "X-Org-Id does not match"),
    ("POST", "/v1/recommend", {**OK, "options": {"explain": "full"}},
     {"X-API-Key": "t1-viewer"}, 403, "RECSYS_FORBIDDEN", "admin role"),
    ("POST", "/v1/recommend", {**OK, "options": {"include_trace": True}},
     {"X-API-Key": "t1-operator"}, 403, "RECSYS_FORBIDDEN", "admin role"),
    ("POST", "/v1/nope", OK, {}, 404, "RECSYS_NOT_FOUND", "Not Found"),
    ("GET", f"{ADMIN}/config", None, {}, 404, "RECSYS_CONFIG_NOT_FOUND", "has no config"),
    ("GET", f"{ADMIN}/rules", None, {}, 404, "RECSYS_RULES_NOT_FOUND", "has no rules"),
    ("GET", "/v1/recommend", None, {}, 405, "RECSYS_METHOD_NOT_ALLOWED", "Method Not Allowed"),
    ("PUT", f"{ADMIN}/config", {"weights": {"pop": 1}}, {"If-Match": '"stale"'}, 409,
     "RECSYS_VERSION_MISMATCH", "If-Match 'stale' is stale"),
    ("POST", "/v1/recommend", b"[" + b" " * (1 << 20) + b"]", {}, 413,
     "RECSYS_PAYLOAD_TOO_LARGE", "Request Entity Too Large"),
    ("POST", "/v1/recommend", {"surface": "home"}, {}, 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "user needs"),
    ("POST", "/v1/recommend", {**OK, "k": 51, "options": {"explain": "summary"}}, {}, 422,
     "RECSYS_EXPLAIN_TOO_LARGE", "k ≤ 50"),
    ("PUT", f"{ADMIN}/config", {"weights": {"pop": -1}}, {}, 422, "RECSYS_INVALID_CONFIG",
     "non-negative"),
    ("PUT", f"{ADMIN}/rules", [{"action": "explode", "item_ids": ["a"]}], {}, 422,
     "RECSYS_INVALID_RULES", "rule 0: unknown action 'explode'"),
    ("PUT", f"{ADMIN}/rules", [{"action": "block", "tag": "category:c2"}], {}, 422,
     "RECSYS_INVALID_RULES", "rule 0: tag 'category:c2' never matches"),
    ("PUT", f"{ADMIN}/config", {"algo": "nope"}, {}, 422, "RECSYS_INVALID_CONFIG",
     "algo must be one of"),
    ("PUT", f"{ADMIN}/config", {"limits": {"max_k": 0}}, {}, 422, "RECSYS_INVALID_CONFIG",
     "max_k must be at least 1"),
    ("POST", f"{ADMIN}/cache/invalidate", {"targets": ["everything"]}, {}, 422,
     "RECSYS_INVALID_TARGETS", "unknown targets"),
    ("GET", f"{ADMIN}/audit?limit=500", None, {}, 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "between 1 and 200"),
]


@pytest.mark.parametrize(("method", "path", "body", "hdrs", "status", "code", "detail"), CASES,
                         ids=[f"{c[4]}-{c[5]}-{n}" for n, c in enumerate(CASES)])
async def test_problem(method: str, path: str, body: Any, hdrs: dict[str, str], status: int,
                       code: str, detail: str) -> None:
    async with harness() as hs:
        headers = {"X-API-Key": "t1-admin", "X-Request-Id": "rid-7", **hdrs}
        kw: dict[str, Any] = {"data": io.BytesIO(body)} if isinstance(body, bytes) else {
            "json": body}
        resp = await hs.client.request(method, path, headers=headers, **kw)
        assert resp.status == status, await resp.text()
        assert resp.content_type == "application/problem+json"
        assert resp.headers["X-Request-Id"] == "rid-7"
        doc = await resp.json()
        assert doc["code"] == code and doc["status"] == status
        assert doc["request_id"] == "rid-7"
        assert doc["instance"] == path.split("?")[0]
        assert doc["type"] == "https://errors.recsys.example/problem/" + code.lower().replace(
            "_", "-")
        assert re.search(detail, doc["detail"]), doc["detail"]


async def test_open_mode_needs_the_tenant_header():
    async with harness(keys=None) as hs:
        resp = await hs.client.post("/v1/recommend", json=OK)
        assert resp.status == 403
        assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_REQUIRED"
        ok = await hs.client.post("/v1/recommend", json=OK, headers={"X-Org-Id": "t1"})
        assert ok.status == 200


async def test_tenant_limits_are_enforced():
    async with harness() as hs:
        put = await hs.client.put(f"{ADMIN}/config", json={"limits": {"max_k": 2,
                                                                      "max_exclude_ids": 1}},
                                  headers={"X-API-Key": "t1-admin"})
        assert put.status == 200
        resp = await hs.post("/v1/recommend", OK)
        doc = await resp.json()
        assert (resp.status, doc["code"]) == (422, "RECSYS_LIMIT_EXCEEDED")
        assert doc["detail"] == "k=3 exceeds the tenant limit max_k=2"
        resp = await hs.post("/v1/recommend", {**OK, "k": 2,
                                               "candidates": {"exclude_ids": ["a", "b"]}})
        assert (await resp.json())["detail"] == (
            "2 exclude_ids exceed the tenant limit max_exclude_ids=1")
        # validate answers as recommend would
        checked = await hs.post("/v1/recommend/validate", OK)
        assert (checked.status, (await checked.json())["code"]) == (422, "RECSYS_LIMIT_EXCEEDED")
        # a k the client left out (default 20) comes down to max_k, with the warning saying so
        no_k = {"surface": "home", "user": {"user_id": "u1"}}
        for path in ("/v1/recommend", "/v1/recommend/validate"):
            resp = await hs.post(path, no_k)
            doc = await resp.json()
            assert resp.status == 200, doc
            assert {"code": "DEFAULT_APPLIED",
                    "detail": "k defaulted to 2 (the tenant's max_k)"} in doc["warnings"]
            assert not any(w["detail"] == "k defaulted to 20" for w in doc["warnings"])
        ranked = await (await hs.post("/v1/recommend", no_k)).json()
        assert len(ranked["items"]) == 2
        assert (await (await hs.post("/v1/recommend/validate", no_k)).json())[
            "request"]["k"] == 2
        # /v1/similar keeps to max_k too
        similar = await hs.post("/v1/similar", {"surface": "home", "item_id": "a", "k": 3})
        assert (await similar.json())["detail"] == "k=3 exceeds the tenant limit max_k=2"
        similar = await hs.post("/v1/similar", {"surface": "home", "item_id": "a"})
        assert {"code": "DEFAULT_APPLIED", "detail": "k defaulted to 2 (the tenant's max_k)"
                } in (await similar.json())["warnings"]


async def test_serving_traffic_and_the_admin_api_draw_from_separate_buckets():
    async with harness(rate_capacity=2, rate_refill_per_s=0.5) as hs:  # the clock stands
        assert [(await hs.post("/v1/recommend", OK)).status for _ in range(3)] == [200, 200, 429]
        audit = f"{ADMIN}/audit"
        got = [(await hs.client.get(audit, headers={"X-API-Key": "t1-admin"})).status
               for _ in range(3)]
        assert got == [200, 200, 429]  # the admin bucket has its own 2 tokens


async def test_rate_limit_429_with_retry_after_then_refills():
    async with harness(rate_capacity=2, rate_refill_per_s=0.5) as hs:
        assert [(await hs.post("/v1/recommend", OK)).status for _ in range(2)] == [200, 200]
        resp = await hs.post("/v1/recommend", OK)
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "2"  # 1 token at 0.5/s
        assert (await resp.json())["code"] == "RECSYS_RATE_LIMITED"
        other = await hs.post("/v1/recommend", OK, key="t2-admin")
        assert other.status == 200  # buckets are per tenant
        hs.clock["mono"] = 2.0
        assert (await hs.post("/v1/recommend", OK)).status == 200


async def test_backpressure_503_with_retry_after():
    async with harness(max_inflight=1, retry_after_s=3) as hs:
        from serving.keys import GATE

        hs.client.app[GATE].inflight = 1  # one request already being served
        resp = await hs.post("/v1/recommend", OK)
        assert resp.status == 503 and resp.headers["Retry-After"] == "3"
        assert (await resp.json())["code"] == "RECSYS_OVERLOADED"
        hs.client.app[GATE].inflight = 0
        assert (await hs.post("/v1/recommend", OK)).status == 200


async def test_request_id_is_generated_and_405_names_the_allowed_methods():
    async with harness() as hs:
        resp = await hs.post("/v1/recommend", OK)
        rid = resp.headers["X-Request-Id"]
        assert len(rid) == 32 and int(rid, 16) >= 0
        assert (await resp.json())["meta"]["request_id"] == rid
        long_id = "r" * 129  # over 128 characters: replaced, never echoed
        bad = await hs.client.get("/v1/recommend", headers={"X-API-Key": "t1-admin",
                                                            "X-Request-Id": long_id})
        assert bad.status == 405 and bad.headers["Allow"] == "POST"
        assert len(bad.headers["X-Request-Id"]) == 32
        head = await hs.client.head("/healthz")
        assert head.status == 405


async def test_config_must_be_an_object_and_rules_accept_wrappers():
    async with harness() as hs:
        h = {"X-API-Key": "t1-admin"}
        resp = await hs.client.put(f"{ADMIN}/config", json=[1], headers=h)
        assert (resp.status, (await resp.json())["code"]) == (422, "RECSYS_INVALID_CONFIG")
        wrapped = {"items": [{"action": "pin", "item_ids": ["z"], "rule_id": "p"}]}
        resp = await hs.client.put(f"{ADMIN}/rules", json=wrapped, headers=h)
        assert resp.status == 200
        assert (await resp.json())["rules"] == wrapped  # stored as written
