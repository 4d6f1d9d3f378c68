"""The worked example of the seed doc "Candidate generation vs ranking", as a test.

Views (hand-chosen so the doc's ranked list comes out): popularity item_2=9, item_4=4,
item_3=3, item_1=1, item_5=0.5, item_8=0.25, item_9=0.1; co-visitation of anchor item_10:
item_6=2, item_7=1; weights pop=1, cooc=1. Normalised s/(s+1):

    item_2 0.9 | item_4 0.8 | item_3 0.75 | item_6 2/3 | item_1 0.5 | item_7 0.5
    item_5 1/3 | item_8 0.2 | item_9 1/11

Tags: item_4 adult; item_1, item_2, item_6, item_7 category:shoes. item_99 is unknown.
"""

from __future__ import annotations

import pytest

from serving.engine.pipeline import rank
from serving.engine.weights import Weights
from serving.views import InMemoryViews
from tests.unit.serving.engine_fixtures import NOW, S, T, meta, query, viewset

SHOES = "category:shoes"


def seed_views() -> InMemoryViews:
    v = InMemoryViews()
    v.popularity[(T, S)] = {"item_2": 9, "item_4": 4, "item_3": 3, "item_1": 1,
                            "item_5": 0.5, "item_8": 0.25, "item_9": 0.1}
    v.covisitation[(T, S, "item_10")] = {"item_6": 2, "item_7": 1}
    for m in (meta("item_1", SHOES), meta("item_2", SHOES), meta("item_3"),
              meta("item_4", "adult"), meta("item_5"), meta("item_6", SHOES),
              meta("item_7", SHOES), meta("item_8"), meta("item_9"), meta("item_10")):
        v.catalog[(T, m.item_id)] = m
    return v


W = Weights(1.0, 1.0, 0.0)


def test_ranking_alone_gives_the_docs_top5():
    result = rank(query(k=5, weights=W, anchors=("item_10",), now_ms=NOW), viewset(seed_views()))
    assert [i.item_id for i in result.items] == ["item_2", "item_4", "item_3", "item_6", "item_1"]
    assert [i.score for i in result.items] == pytest.approx([0.9, 0.8, 0.75, 2 / 3, 0.5])
    assert result.anchors == ("item_10",)


def test_full_request_excludes_then_allow_list_keeps_known_include_ids():
    q = query(
        k=5, weights=W, anchors=("item_10",),
        include_ids=("item_1", "item_2", "item_99"), exclude_ids=("item_3",),
        forbidden_tags=("adult",), max_per_tag=((SHOES, 2),),
        include_reasons=True, explain="summary",
    )
    result = rank(q, viewset(seed_views()))
    # pool minus item_3 = {2,4,1,5,8,9,6,7}; allow-list keeps item_2, item_1 (6 removed);
    # item_99 is neither catalogued nor popular, so it cannot be served: fewer than k.
    assert [(i.item_id, i.rank) for i in result.items] == [("item_2", 1), ("item_1", 2)]
    assert result.items[0].reasons == ("recent_popularity",)
    assert result.items[0].explain == {"signals": {"pop": 0.9, "cooc": 0.0, "emb": 0.0}}
    assert [w.to_json() for w in result.warnings] == [
        {"code": "CANDIDATES_INCLUDE_FILTERED",
         "detail": "6 items removed by candidates.include_ids"},
        {"code": "CANDIDATES_INCLUDE_UNMATCHED",
         "detail": "1 of candidates.include_ids are not servable: item_99"},
    ]


def test_constraints_backfill_where_the_original_came_up_short():
    q = query(k=5, weights=W, anchors=("item_10",), exclude_ids=("item_3",),
              forbidden_tags=("adult",), max_per_tag=((SHOES, 2),))
    result = rank(q, viewset(seed_views()))
    # walk: item_2 ok (shoes 1), item_4 adult ✗, item_6 ok (shoes 2), item_1 shoes ✗,
    # item_7 shoes ✗, item_5 ok, item_8 ok, item_9 ok → k=5 met. The original cut to
    # [2,4,6,1,7] first and returned only [item_2, item_6].
    assert [i.item_id for i in result.items] == ["item_2", "item_6", "item_5", "item_8",
                                                 "item_9"]
    assert [w.to_json() for w in result.warnings] == [
        {"code": "CONSTRAINTS_FILTERED", "detail": "3 items removed by tag constraints"}]


def test_a_pin_rule_can_inject_an_allow_listed_item_outside_the_pool():
    from serving.engine.rules import Rule

    pin = Rule("r-pin", "pin", "item", item_ids=("item_99",), priority=1)
    q = query(k=5, weights=W, anchors=("item_10",), include_ids=("item_1", "item_2", "item_99"),
              rules=(pin,), include_reasons=True)
    result = rank(q, viewset(seed_views()))
    assert [(i.item_id, i.score) for i in result.items] == [
        ("item_99", 0.0), ("item_2", pytest.approx(0.9)), ("item_1", 0.5)]
    assert result.items[0].reasons == ("rule.pin[r-pin]",)
    assert [w.code for w in result.warnings] == ["RULE_PIN_INJECTED",
                                                 "CANDIDATES_INCLUDE_FILTERED"]


async def test_the_docs_request_verbatim_over_http():
    """The seed doc's request JSON, unchanged, with tenant weights pop=1, cooc=1."""
    from tests.unit.serving.app_fixtures import harness

    request = {
        "surface": "home", "k": 5, "user": {"user_id": "u_1"},
        "anchors": {"item_ids": ["item_10"]},
        "candidates": {"include_ids": ["item_1", "item_2", "item_99"],
                       "exclude_ids": ["item_3"]},
        "constraints": {"forbidden_tags": ["adult"], "max_per_tag": {SHOES: 2}},
        "options": {"include_reasons": True, "explain": "summary"},
    }
    async with harness(seed_views()) as hs:
        put = await hs.client.put("/v1/admin/tenants/t1/config",
                                  json={"weights": {"pop": 1, "cooc": 1}},
                                  headers={"X-API-Key": "t1-admin"})
        assert put.status == 200
        validated = await (await hs.post("/v1/recommend/validate", request)).json()
        assert [w["detail"] for w in validated["warnings"]] == [
            "segment defaulted to 'default'", "anchors.max_anchors defaulted to 50"]
        doc = await (await hs.post("/v1/recommend", request)).json()
        assert [(i["item_id"], i["rank"], i["reasons"]) for i in doc["items"]] == [
            ("item_2", 1, ["recent_popularity"]), ("item_1", 2, ["recent_popularity"])]
        assert doc["items"][0]["explain"] == {"signals": {"pop": 0.9, "cooc": 0.0, "emb": 0.0}}
        assert [w["code"] for w in doc["warnings"]] == [
            "DEFAULT_APPLIED", "DEFAULT_APPLIED", "CANDIDATES_INCLUDE_FILTERED",
            "CANDIDATES_INCLUDE_UNMATCHED"]
