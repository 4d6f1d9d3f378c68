"""POST /v1/recommend, /validate and /similar through aiohttp (in-memory everything)."""

from __future__ import annotations

import hashlib
import hmac

from schemas.events import Assignment, Exposure
from serving.views import InMemoryViews, ScoredItem
from tests.unit.serving.app_fixtures import SALT, harness
from tests.unit.serving.engine_fixtures import NOW, T

BODY = {"surface": "home", "k": 3, "user": {"user_id": "u1"}, "segment": "s",
        "options": {"include_reasons": True}}


def h(value: str) -> str:
    return hmac.new(SALT.encode(), value.encode(), hashlib.sha256).hexdigest()


async def test_recommend_ranks_and_logs_an_exposure_after_responding():
    async with harness() as hs:
        resp = await hs.post("/v1/recommend", BODY, **{"X-Request-Id": "req-1"})
        assert resp.status == 200, await resp.text()
        assert resp.headers["X-Request-Id"] == "req-1"
        assert resp.headers["Cache-Control"] == "no-store"
        doc = await resp.json()
        assert [(i["item_id"], i["rank"], i["score"], i["reasons"]) for i in doc["items"]] == [
            ("a", 1, 0.8, ["recent_popularity"]), ("b", 2, 0.75, ["recent_popularity"]),
            ("c", 3, 0.5, ["recent_popularity"])]
        meta = doc["meta"]
        assert (meta["tenant_id"], meta["surface"], meta["segment"], meta["request_id"]) == (
            T, "home", "s", "req-1")
        assert (meta["algo_version"], meta["config_version"], meta["rules_version"]) == (
            "recsys-algo@local", "", "")
        assert meta["counts"] == {"returned": 3}
        assert doc["warnings"] == []
        [event] = hs.sink.events
        assert isinstance(event, Exposure)
        assert (event.request_id, event.user_id) == ("req-1", h("u1"))
        assert [(i.item_id, i.rank) for i in event.items] == [("a", 1), ("b", 2), ("c", 3)]
        assert event.context == {"tenant_id": T, "surface": "home", "segment": "s",
                                 "algo_version": "recsys-algo@local"}
        assert event.error is False and event.latency_ms is not None
        assert event.ts == "2023-11-14T22:13:20.000Z"


async def test_pseudonym_fallback_order_anonymous_before_session():
    async with harness() as hs:
        body = {**BODY, "user": {"session_id": "s1", "anonymous_id": "a1"}}
        assert (await hs.post("/v1/recommend", body)).status == 200
        assert hs.sink.events[0].user_id == h("a1")


async def test_server_assignment_emits_assignment_event_and_client_variant_does_not():
    async with harness() as hs:
        body = {**BODY, "experiment": {"id": "exp1"}}
        doc = await (await hs.post("/v1/recommend", body, **{"X-Request-Id": "r2"})).json()
        exposure, assignment = hs.sink.events
        assert isinstance(assignment, Assignment)
        # HMAC(salt, "exp1:u1")[:8] mod 2 picks the arm; computed here independently
        n = int.from_bytes(hmac.new(SALT.encode(), b"exp1:u1", hashlib.sha256).digest()[:8],
                           "big")
        variant = ("A", "B")[n % 2]
        assert (assignment.experiment_id, assignment.variant, assignment.request_id,
                assignment.user_id) == ("exp1", variant, "r2", h("u1"))
        assert doc["meta"]["experiment"] == {"id": "exp1", "variant": variant}
        assert exposure.context is not None
        assert exposure.context["experiment_variant"] == variant
        hs.sink.events.clear()
        await hs.post("/v1/recommend", {**BODY, "experiment": {"id": "exp1", "variant": "B"}})
        assert [e.SCHEMA for e in hs.sink.events] == ["exposure.v1"]


async def test_warnings_are_merged_in_a_fixed_order():
    async with harness() as hs:
        body = {"surface": "home", "user": {"user_id": "u1"}, "weights": {"emb": 1},
                "candidates": {"include_ids": ["c", "q"]}}
        doc = await (await hs.post("/v1/recommend", body)).json()
        assert [i["item_id"] for i in doc["items"]] == ["c"]
        assert [w["code"] for w in doc["warnings"]] == [
            "DEFAULT_APPLIED", "DEFAULT_APPLIED", "DEFAULT_APPLIED", "SIGNAL_UNAVAILABLE",
            "CANDIDATES_INCLUDE_FILTERED", "CANDIDATES_INCLUDE_UNMATCHED"]


async def test_popularity_failure_is_a_500_problem_and_an_error_exposure():
    class Broken(InMemoryViews):
        def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
            raise RuntimeError("boom")

    async with harness(Broken()) as hs:
        resp = await hs.post("/v1/recommend", BODY)
        assert resp.status == 500
        doc = await resp.json()
        assert (doc["code"], doc["title"]) == ("RECSYS_INTERNAL", "Internal Server Error")
        [event] = hs.sink.events
        assert isinstance(event, Exposure) and event.error is True and event.items == ()


async def test_validate_returns_the_normalised_request_without_ranking():
    async with harness() as hs:
        resp = await hs.post("/v1/recommend/validate",
                             {"surface": "home", "user": {"user_id": " u1 "},
                              "constraints": {"forbidden_tags": ["ADULT"]}})
        doc = await resp.json()
        assert resp.status == 200
        assert doc["request"]["user"] == {"user_id": "u1"}
        assert doc["request"]["constraints"]["forbidden_tags"] == ["adult"]
        assert [w["detail"] for w in doc["warnings"]] == [
            "segment defaulted to 'default'", "k defaulted to 20", "options defaulted"]
        assert hs.sink.events == []


async def test_similar_lists_neighbours_with_raw_scores_and_constraints():
    async with harness() as hs:
        hs.views.covisitation[(T, "home", "a")] = {"b": 5.0, "c": 3.0, "d": 1.0}
        resp = await hs.post("/v1/similar", {"surface": "home", "item_id": "a", "k": 2,
                                             "constraints": {"forbidden_tags": ["red"]},
                                             "options": {"include_reasons": True}})
        doc = await resp.json()
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        assert doc["items"] == [
            {"item_id": "b", "rank": 1, "score": 5.0, "reasons": ["co_visitation"]},
            {"item_id": "d", "rank": 2, "score": 1.0, "reasons": ["co_visitation"]}]
        assert [w["code"] for w in doc["warnings"]] == ["DEFAULT_APPLIED",
                                                        "CONSTRAINTS_FILTERED"]
        [event] = hs.sink.events
        assert event.user_id == event.request_id  # no subject: falls back to request_id


async def test_health_and_readiness():
    async with harness() as hs:
        assert (await hs.client.get("/healthz")).status == 200
        resp = await hs.client.get("/readyz")
        assert (resp.status, await resp.json()) == (200, {"ready": True, "checks": {}})


async def test_now_in_context_drives_rule_windows():
    async with harness() as hs:
        rules = [{"action": "pin", "item_ids": ["z"], "valid_from": "2030-01-01T00:00:00Z"}]
        assert (await hs.client.put("/v1/admin/tenants/t1/rules", json=rules,
                                    headers={"X-API-Key": "t1-admin"})).status == 200
        early = await (await hs.post("/v1/recommend", BODY)).json()
        assert [i["item_id"] for i in early["items"]] == ["a", "b", "c"]
        late = await (await hs.post("/v1/recommend", {
            **BODY, "context": {"now": "2030-06-01T00:00:00Z"}})).json()
        assert [i["item_id"] for i in late["items"]] == ["z", "a", "b"]
        assert NOW < 1_900_000_000_000


async def test_live_history_is_read_by_the_pseudonymous_user_id():
    async with harness() as hs:
        hs.views.history[(T, h("u1"))] = [("a", NOW - 1000)]
        hs.views.covisitation[(T, "home", "a")] = {"z": 9.0}
        await hs.client.put("/v1/admin/tenants/t1/config",
                            json={"weights": {"pop": 1, "cooc": 1}},
                            headers={"X-API-Key": "t1-admin"})
        doc = await (await hs.post("/v1/recommend", BODY)).json()
        # z: cooc 9/10 = 0.9 from the history anchor a; a 0.8; b 0.75
        assert [(i["item_id"], i["reasons"]) for i in doc["items"]] == [
            ("z", ["co_visitation"]), ("a", ["recent_popularity"]),
            ("b", ["recent_popularity"])]


async def test_readiness_takes_sync_and_async_checks_and_fails_closed():
    from serving.app import create_app
    from serving.config_store import InMemoryConfigStore
    from serving.deps import ServingDeps, ServingSettings
    from serving.sink import InMemorySink

    async def broker() -> bool:
        return True

    def boom() -> bool:
        raise RuntimeError("probe failed")

    v = InMemoryViews()
    app = create_app(ServingDeps(v, v, InMemorySink(), InMemoryConfigStore(),
                                 ServingSettings(exposure_salt="s"),
                                 ready_checks={"views": lambda: False, "broker": broker,
                                               "other": boom}))
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/readyz")
        assert resp.status == 503
        assert await resp.json() == {"ready": False, "checks": {
            "views": False, "broker": True, "other": False}}
