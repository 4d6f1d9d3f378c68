"""An empty namespace is filled from the tenant's catalog (flag ``catalog_fallback``).

Catalog of t1: n1..n8 created at t=1..8, n9 (t=9) unavailable, n0 undated. The
namespace (t1, "new") has no popularity. With k=2 the popularity fanout is
max(2·k, 0) + len(exclude_ids) = 4: the four newest available items n8, n7, n6, n5
enter the pool at score 0, and the final order (score desc, item_id asc) gives n5, n6.
With exclude_ids [n5] the fanout is 5 (n8..n4) and n5 drops out: n4, n6.
"""

from __future__ import annotations

from typing import Any

from serving.engine.candidates import CatalogFill
from serving.engine.model import ViewSet
from serving.engine.pipeline import rank
from serving.engine.rules import Rule
from serving.views import InMemoryViews, ItemMeta
from tests.unit.serving.app_fixtures import harness
from tests.unit.serving.engine_fixtures import T, query

NEW = "new"


class ListedViews(InMemoryViews):
    """The in-memory views plus ``CatalogListing``."""

    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        metas = [m for (t, _), m in self.catalog.items() if t == tenant and m.available]
        metas.sort(key=lambda m: (m.created_at_ms is None, -(m.created_at_ms or 0), m.item_id))
        return metas[:n]


def views() -> ListedViews:
    v = ListedViews()
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


async def test_a_namespace_with_popularity_is_not_filled():
    async with harness(views()) as hs:
        doc = await (await hs.post("/v1/recommend", {**BODY, "surface": "home"})).json()
        assert listed(doc) == [("n1", 2 / 3, ["recent_popularity"])]
        assert doc["warnings"] == []


async def test_a_catalog_without_listing_means_no_fill():
    plain = InMemoryViews()
    plain.catalog.update(views().catalog)
    async with harness(plain) as hs:
        doc = await (await hs.post("/v1/recommend", BODY)).json()
        assert (doc["items"], doc["warnings"]) == ([], [])


class BrokenListing(ListedViews):
    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        raise RuntimeError("catalog not loaded")


async def test_a_failing_listing_is_a_warning_not_an_error():
    broken = BrokenListing()
    broken.catalog.update(views().catalog)
    async with harness(broken) as hs:
        resp = await hs.post("/v1/recommend", BODY)
        assert resp.status == 200
        doc = await resp.json()
        assert doc["items"] == []
        assert doc["warnings"] == [{
            "code": "SIGNAL_UNAVAILABLE",
            "detail": "popularity unavailable: no popularity for t1/new; catalog fallback "
                      "failed: catalog not loaded"}]


def test_the_fill_through_the_engine_with_a_boost():
    # a boost of n8 (score 0 → delta = the boost value 0.5) lifts it above the rest at 0
    v = views()
    fill = CatalogFill(v, v)
    boost = Rule(rule_id="r1", action="boost", target_type="item", item_ids=("n8",),
                 boost_value=0.5)
    result = rank(query(surface=NEW, k=3, rules=(boost,), include_reasons=True),
                  ViewSet(fill, v, v, v))
    result = fill.mark(result, T, NEW)
    assert fill.filled == ("n8", "n7", "n6", "n5", "n4", "n3")  # fanout max(2·3, 0) = 6
    assert [(i.item_id, i.score, i.reasons) for i in result.items] == [
        ("n8", 0.5, ("catalog_fallback", "rule.boost:+0.50[r1]")),
        ("n3", 0.0, ("catalog_fallback",)), ("n4", 0.0, ("catalog_fallback",))]
