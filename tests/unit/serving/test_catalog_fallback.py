"""A pool smaller than k is topped up from the tenant's catalog (flag ``catalog_fallback``).

Catalog of t1: n1..n8 created at t=1..8, n9 (t=9) unavailable, n0 undated, so the
newest-first listing is n8, n7, …, n1, n0 (n9 is never listed). The namespace (t1,
"new") has no popularity; (t1, "home") has only n1 (score 2, norm 2/3).

With k=2 the pool should hold fanout + len(exclude_ids) = max(2·k, 0) + 0 = 4 items.
In "new" the four newest available items n8, n7, n6, n5 enter at score 0, and the final
order (score desc, item_id asc) gives n5, n6. With exclude_ids [n5] the target is 5
(n8..n4) and n5 drops out: n4, n6. In "home" the pool {n1} is short by one: the three
newest not in it (n8, n7, n6) fill it to 4 and the answer is n1, then n6.
"""

from __future__ import annotations

from typing import Any

from serving.engine.model import ViewSet
from serving.engine.pipeline import rank
from serving.engine.rules import Rule
from serving.engine.weights import Weights
from serving.views import InMemoryViews, ItemMeta, ScoredItem
from tests.unit.serving.app_fixtures import harness
from tests.unit.serving.engine_fixtures import T, query, viewset

NEW = "new"


def views() -> InMemoryViews:
    v = InMemoryViews()
    for n in range(1, 9):
        v.catalog[(T, f"n{n}")] = ItemMeta(f"n{n}", frozenset({"new"}), created_at_ms=n)
    v.catalog[(T, "n9")] = ItemMeta("n9", created_at_ms=9, available=False)
    v.catalog[(T, "n0")] = ItemMeta("n0")
    v.catalog[("t2", "other")] = ItemMeta("other", created_at_ms=100)
    v.popularity[(T, "home")] = {"n1": 2.0}
    return v


BODY: dict[str, Any] = {"surface": NEW, "k": 2, "user": {"user_id": "u1"}, "segment": "s",
                        "options": {"include_reasons": True}}


def listed(doc: dict[str, Any]) -> list[tuple[str, float, list[str]]]:
    return [(i["item_id"], i["score"], i["reasons"]) for i in doc["items"]]


def test_the_fake_lists_available_items_newest_first_undated_last():
    v = views()
    assert [m.item_id for m in v.newest(T, 20)] == [f"n{n}" for n in range(8, -1, -1)]
    assert [m.item_id for m in v.newest(T, 2)] == ["n8", "n7"]
    assert [m.item_id for m in v.newest("t2", 5)] == ["other"]
    assert v.newest("t3", 5) == [] and v.newest(T, 0) == []


async def test_empty_namespace_is_filled_with_the_newest_catalog_items():
    async with harness(views()) as hs:
        doc = await (await hs.post("/v1/recommend", BODY)).json()
        assert listed(doc) == [("n5", 0.0, ["catalog_fallback"]),
                               ("n6", 0.0, ["catalog_fallback"])]
        assert doc["warnings"] == [{
            "code": "SIGNAL_UNAVAILABLE",
            "detail": "popularity unavailable: no popularity for t1/new yet; 4 candidates "
                      "from the catalog (newest first, score 0)"}]
        [exposure] = hs.sink.events
        assert [i.item_id for i in exposure.items] == ["n5", "n6"]


async def test_exclusions_widen_the_fill_and_still_apply():
    async with harness(views()) as hs:
        body = {**BODY, "candidates": {"exclude_ids": ["n5"]}}
        doc = await (await hs.post("/v1/recommend", body)).json()
        assert [i["item_id"] for i in doc["items"]] == ["n4", "n6"]


async def test_flag_off_keeps_the_namespace_empty():
    async with harness(views()) as hs:
        put = await hs.client.put("/v1/admin/tenants/t1/config",
                                  json={"flags": {"catalog_fallback": False}},
                                  headers={"X-API-Key": "t1-admin"})
        assert put.status == 200
        doc = await (await hs.post("/v1/recommend", BODY)).json()
        assert (doc["items"], doc["warnings"]) == ([], [])
        short = await (await hs.post("/v1/recommend", {**BODY, "surface": "home"})).json()
        assert [i["item_id"] for i in short["items"]] == ["n1"]


async def test_a_short_pool_is_topped_up_after_its_own_candidates():
    async with harness(views()) as hs:
        doc = await (await hs.post("/v1/recommend", {**BODY, "surface": "home"})).json()
        assert listed(doc) == [("n1", 2 / 3, ["recent_popularity"]),
                               ("n6", 0.0, ["catalog_fallback"])]
        assert doc["warnings"] == [{
            "code": "CATALOG_FALLBACK",
            "detail": "1 candidate for t1/home, fewer than k=2; 3 candidates from the "
                      "catalog (newest first)"}]


async def test_a_pool_of_k_candidates_is_not_filled():
    async with harness(views()) as hs:
        doc = await (await hs.post("/v1/recommend", {**BODY, "surface": "home", "k": 1})).json()
        assert listed(doc) == [("n1", 2 / 3, ["recent_popularity"])]
        assert doc["warnings"] == []


async def test_an_allow_list_is_not_filled():
    # include_ids n1, n2 are catalogued, so they are the pool; a fill would be dropped again
    async with harness(views()) as hs:
        body = {**BODY, "candidates": {"include_ids": ["n2", "n1"]}}
        doc = await (await hs.post("/v1/recommend", body)).json()
        assert listed(doc) == [("n1", 0.0, []), ("n2", 0.0, [])]
        assert doc["warnings"] == []


class UnlistedCatalog:
    """The views without ``CatalogListing``."""

    def __init__(self, base: InMemoryViews) -> None:
        self.base = base

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        return self.base.top(tenant, surface, n, now_ms)

    def score(self, tenant: str, surface: str, item_id: str, now_ms: int) -> float:
        return self.base.score(tenant, surface, item_id, now_ms)

    def neighbors(self, tenant: str, surface: str, item_id: str, n: int) -> list[ScoredItem]:
        return self.base.neighbors(tenant, surface, item_id, n)

    def get(self, tenant: str, item_id: str) -> ItemMeta | None:
        return self.base.get(tenant, item_id)

    def recent(self, tenant: str, user_id: str, n: int) -> list[tuple[str, int]]:
        return self.base.recent(tenant, user_id, n)


async def test_a_catalog_without_listing_means_no_fill():
    async with harness(UnlistedCatalog(views())) as hs:  # type: ignore[arg-type]
        doc = await (await hs.post("/v1/recommend", BODY)).json()
        assert (doc["items"], doc["warnings"]) == ([], [])


class BrokenListing(InMemoryViews):
    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        raise RuntimeError("catalog not loaded")


async def test_a_failing_listing_is_a_warning_not_an_error():
    broken = BrokenListing()
    broken.catalog.update(views().catalog)
    broken.popularity.update(views().popularity)
    async with harness(broken) as hs:
        resp = await hs.post("/v1/recommend", BODY)
        assert resp.status == 200
        doc = await resp.json()
        assert doc["items"] == []
        assert doc["warnings"] == [{
            "code": "SIGNAL_UNAVAILABLE",
            "detail": "popularity unavailable: no popularity for t1/new; catalog fallback "
                      "failed: catalog not loaded"}]
        short = await (await hs.post("/v1/recommend", {**BODY, "surface": "home"})).json()
        assert [i["item_id"] for i in short["items"]] == ["n1"]
        assert short["warnings"] == [{
            "code": "CATALOG_FALLBACK",
            "detail": "1 candidate for t1/home, fewer than k=2; catalog fallback failed: "
                      "catalog not loaded"}]


def test_the_fill_through_the_engine_with_a_boost():
    # fanout max(2·3, 0) = 6: n8..n3 enter at 0; the boost of n8 (score 0 → delta = the
    # boost value 0.5) lifts it above the rest, which tie at 0 and go by item_id
    boost = Rule(rule_id="r1", action="boost", target_type="item", item_ids=("n8",),
                 boost_value=0.5)
    result = rank(query(surface=NEW, k=3, rules=(boost,), include_reasons=True,
                        catalog_fill=True), viewset(views()))
    assert [(i.item_id, i.score, i.reasons) for i in result.items] == [
        ("n8", 0.5, ("catalog_fallback", "rule.boost:+0.50[r1]")),
        ("n3", 0.0, ("catalog_fallback",)), ("n4", 0.0, ("catalog_fallback",))]
    assert [w.detail for w in result.warnings] == [
        "popularity unavailable: no popularity for t1/new yet; 6 candidates from the "
        "catalog (newest first, score 0)"]


def test_items_already_in_the_pool_are_not_listed_twice():
    # pool {n8: 1 → norm 0.5}; the newest four are n8, n7, n6, n5, of which n8 is in the
    # pool: n7, n6, n5 fill it to 4, and k=2 gives n8 then n5 (score 0, item_id first)
    v = views()
    v.popularity[(T, "few")] = {"n8": 1.0}
    result = rank(query(surface="few", k=2, include_reasons=True, catalog_fill=True),
                  viewset(v))
    assert [(i.item_id, i.score, i.reasons) for i in result.items] == [
        ("n8", 0.5, ("recent_popularity",)), ("n5", 0.0, ("catalog_fallback",))]
    assert [w.detail for w in result.warnings] == [
        "1 candidate for t1/few, fewer than k=2; 3 candidates from the catalog "
        "(newest first)"]


def test_co_visitation_counts_towards_the_pool():
    # anchor n1 has neighbours n2 (3) and n3 (1): with popularity 0 and β=1 they score
    # 3/4 and 1/2; the pool {n2, n3} has k=2 candidates, so nothing is filled
    v = views()
    v.covisitation[(T, NEW, "n1")] = {"n2": 3.0, "n3": 1.0}
    q = query(surface=NEW, k=2, anchors=("n1",), weights=Weights(1.0, 1.0, 0.0),
              catalog_fill=True)
    result = rank(q, ViewSet(v, v, v, v))
    assert [(i.item_id, i.score) for i in result.items] == [("n2", 0.75), ("n3", 0.5)]
    assert result.warnings == ()


def test_the_engine_default_is_no_fill():
    result = rank(query(surface=NEW, k=2), viewset(views()))
    assert (result.items, result.warnings) == ((), ())
