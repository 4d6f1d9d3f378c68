from aiohttp.test_utils import TestClient, TestServer

from serving.http import make_app
from serving.views import InMemoryCountsView, ItemCounts

# Shown/engaged per item for t1/home as the tiny dataset gives them (hand-counted):
# exposures r1 [i1,i2,i3], r2 [i2,i3,i4]; outcomes i1 click, i4 conversion.
TINY = {
    ("t1", "home"): [
        ItemCounts("i1", 1, 1),
        ItemCounts("i2", 2, 0),
        ItemCounts("i3", 2, 0),
        ItemCounts("i4", 1, 1),
    ]
}


async def _client(view: InMemoryCountsView) -> TestClient:
    client = TestClient(TestServer(make_app(view)))
    await client.start_server()
    return client


async def test_recommend_ranks_engaged_before_shown_then_item_id():
    client = await _client(InMemoryCountsView(TINY))
    try:
        resp = await client.post(
            "/v1/recommend",
            json={"surface": "home", "k": 5, "user": {"user_id": "u9"}},
            headers={"X-Org-Id": "t1", "X-Request-Id": "req-1"},
        )
        assert resp.status == 200
        assert resp.headers["X-Request-Id"] == "req-1"
        assert resp.headers["Cache-Control"] == "no-store"
        body = await resp.json()
        assert [(i["item_id"], i["rank"], i["score"]) for i in body["items"]] == [
            ("i1", 1, 1.0),
            ("i4", 2, 1.0),
            ("i2", 3, 0.0),
            ("i3", 4, 0.0),
        ]
        assert body["meta"]["request_id"] == "req-1"
        assert body["meta"]["tenant_id"] == "t1"
        assert body["meta"]["counts"] == {"returned": 4}
        assert body["warnings"] == [
            {"code": "DEFAULT_APPLIED", "detail": "segment defaulted to 'default'"}
        ]
    finally:
        await client.close()


async def test_k_cuts_and_other_tenants_see_nothing():
    client = await _client(InMemoryCountsView(TINY))
    try:
        resp = await client.post(
            "/v1/recommend",
            json={"surface": "home", "k": 2, "user": {"user_id": "u"}},
            headers={"X-Org-Id": "t1"},
        )
        assert [i["item_id"] for i in (await resp.json())["items"]] == ["i1", "i4"]
        resp = await client.post(
            "/v1/recommend",
            json={"surface": "home", "k": 2, "user": {"user_id": "u"}},
            headers={"X-Org-Id": "t2"},
        )
        body = await resp.json()
        assert body["items"] == [] and "counts" not in body["meta"]
    finally:
        await client.close()


async def test_errors_are_problem_json_with_stable_codes():
    client = await _client(InMemoryCountsView(TINY))
    try:
        resp = await client.post("/v1/recommend", data=b"{not json", headers={"X-Org-Id": "t1"})
        assert resp.status == 400
        assert resp.content_type == "application/problem+json"
        problem = await resp.json()
        assert problem["code"] == "RECSYS_INVALID_REQUEST"
        assert problem["type"] == "https://errors.recsys.example/problem/recsys-invalid-request"
        assert problem["title"] == "Bad Request" and problem["instance"] == "/v1/recommend"
        assert problem["request_id"] == resp.headers["X-Request-Id"]

        resp = await client.post(
            "/v1/recommend", json={"surface": "home", "user": {"user_id": "u"}}
        )
        assert resp.status == 403
        assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_REQUIRED"

        resp = await client.get("/nope")
        assert resp.status == 404 and (await resp.json())["code"] == "RECSYS_NOT_FOUND"
    finally:
        await client.close()


async def test_health_and_readiness():
    view = InMemoryCountsView(TINY)
    client = await _client(view)
    try:
        assert (await client.get("/healthz")).status == 200
        resp = await client.get("/readyz")
        assert resp.status == 200 and (await resp.json())["checks"]["tables"] is True
        view.is_ready = False
        resp = await client.get("/readyz")
        assert resp.status == 503 and (await resp.json())["ready"] is False
    finally:
        await client.close()
