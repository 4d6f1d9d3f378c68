"""Request cases with hand-derived lists (fixture: pop a .8, b .75, c .5, d .2; z unpopular).

Tags: a red, b blue, c red, d none, z green (catalogued). Default weights pop only, k=3.
"""

from __future__ import annotations

from typing import Any

import pytest

from serving.engine.model import EngineSettings
from serving.engine.pipeline import rank
from serving.engine.rules import Rule
from serving.engine.weights import Weights
from serving.views import InMemoryViews
from tests.unit.serving.engine_fixtures import (
    NOW,
    BrokenCatalog,
    BrokenCovisitation,
    S,
    T,
    meta,
    query,
    small_views,
    viewset,
)


def pin(rid: str, *ids: str, priority: int = 0, **kw: Any) -> Rule:
    return Rule(rid, "pin", "item", item_ids=ids, priority=priority, **kw)


def block(rid: str, *ids: str, priority: int = 0) -> Rule:
    return Rule(rid, "block", "item", item_ids=ids, priority=priority)


CASES: list[tuple[str, dict[str, Any], list[str], list[tuple[str, str]]]] = [
    ("plain top-3", {}, ["a", "b", "c"], []),
    ("exclude_ids", {"exclude_ids": ("a",)}, ["b", "c", "d"], []),
    ("required tags any-of", {"required_tags": ("red",)}, ["a", "c"], []),
    ("pin injection", {"rules": (pin("p1", "z"),)}, ["z", "a", "b"],
     [("RULE_PIN_INJECTED", "1 pinned items were injected into results")]),
    ("pin of a candidate moves it first", {"rules": (pin("p1", "c"),)}, ["c", "a", "b"], []),
    ("block of a pinned item releases the pin",
     {"rules": (pin("p1", "a", priority=5), block("b1", "a", priority=1))}, ["b", "c", "d"], []),
    ("a blocked item cannot be pinned later",
     {"rules": (block("b1", "c", priority=5), pin("p1", "c", priority=1))}, ["a", "b", "d"], []),
    ("pin slots: at most 3 pins", {"k": 5, "rules": (pin("p1", "d", "c", "b", "a"),)},
     ["d", "c", "b", "a"], []),
    ("max_pins per rule", {"rules": (pin("p1", "d", "c", max_pins=1),)}, ["d", "a", "b"], []),
    ("pin of an excluded item is skipped",
     {"exclude_ids": ("z",), "rules": (pin("p1", "z"),)}, ["a", "b", "c"], []),
    ("tag pin picks the best matching candidate",
     {"rules": (Rule("p1", "pin", "tag", target_key="blue"),)}, ["b", "a", "c"], []),
    ("boost of a missing item injects it at 0 + boost_value",
     {"k": 4, "rules": (Rule("x", "boost", "item", item_ids=("z",), boost_value=0.5),)},
     ["a", "b", "c", "z"], []),
    ("boost arithmetic: 0.75 + 0.75·0.2 = 0.9 overtakes a",
     {"rules": (Rule("x", "boost", "item", item_ids=("b",), boost_value=0.2),)},
     ["b", "a", "c"], []),
    ("tag block", {"rules": (Rule("x", "block", "tag", target_key="red"),)}, ["b", "d"], []),
    ("backfill after max_per_tag", {"max_per_tag": (("red", 1),)}, ["a", "b", "d"],
     [("CONSTRAINTS_FILTERED", "1 items removed by tag constraints")]),
    ("forbidden tag with backfill", {"forbidden_tags": ("blue",)}, ["a", "c", "d"],
     [("CONSTRAINTS_FILTERED", "1 items removed by tag constraints")]),
    ("allow-list shortfall", {"include_ids": ("c", "q")}, ["c"],
     [("CANDIDATES_INCLUDE_FILTERED", "3 items removed by candidates.include_ids"),
      ("CANDIDATES_INCLUDE_UNMATCHED", "1 of candidates.include_ids are not servable: q")]),
    ("allow-list injects a known unpopular item", {"include_ids": ("z", "b")}, ["b", "z"],
     [("CANDIDATES_INCLUDE_FILTERED", "3 items removed by candidates.include_ids")]),
    ("allow-list matching nothing", {"include_ids": ("q",)}, [],
     [("CANDIDATES_INCLUDE_FILTERED", "4 items removed by candidates.include_ids"),
      ("CANDIDATES_INCLUDE_UNMATCHED", "1 of candidates.include_ids are not servable: q"),
      ("CANDIDATES_INCLUDE_EMPTY", "no items matched candidates.include_ids")]),
    ("emb weight without an embedding view", {"weights": Weights(1.0, 0.0, 0.5)},
     ["a", "b", "c"], [("SIGNAL_UNAVAILABLE", "embedding unavailable: no embedding view")]),
    ("implicit mode falls back to popularity", {"mode": "implicit"}, ["a", "b", "c"],
     [("SIGNAL_UNAVAILABLE", "collaborative unavailable: no collaborative view")]),
    ("inactive rule (other surface) does nothing",
     {"rules": (Rule("p", "pin", "item", item_ids=("z",), surface="pdp"),)}, ["a", "b", "c"], []),
    ("expired rule does nothing",
     {"rules": (Rule("p", "pin", "item", item_ids=("z",), valid_until_ms=NOW),)},
     ["a", "b", "c"], []),
]


@pytest.mark.parametrize(("name", "kw", "expected", "warnings"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, kw: dict[str, Any], expected: list[str],
              warnings: list[tuple[str, str]]) -> None:
    result = rank(query(**kw), viewset(small_views()))
    assert [i.item_id for i in result.items] == expected
    assert [i.rank for i in result.items] == list(range(1, len(expected) + 1))
    assert [(w.code, w.detail) for w in result.warnings] == warnings


def test_live_history_anchors_feed_co_visitation():
    v = small_views()
    v.history[(T, "u1")] = [("a", NOW - 10), ("a", NOW - 20)]
    v.covisitation[(T, S, "a")] = {"x": 9.0, "b": 1.0}
    result = rank(query(user_id="u1", weights=Weights(1.0, 1.0, 0.0), include_reasons=True),
                  viewset(v))
    # x: cooc 9/10 = 0.9; a: pop 0.8; b: pop 0.75 + cooc 0.5 = 1.25
    assert [(i.item_id, i.score) for i in result.items] == [
        ("b", 1.25), ("x", pytest.approx(0.9)), ("a", 0.8)]
    assert result.items[0].reasons == ("recent_popularity", "co_visitation")
    assert result.anchors == ("a",)


def test_boost_reason_token_formats_the_delta():
    rule = Rule("r1", "boost", "item", item_ids=("b",), boost_value=0.2)
    result = rank(query(rules=(rule,), include_reasons=True, explain="full"),
                  viewset(small_views()))
    assert result.items[0].reasons == ("recent_popularity", "rule.boost:+0.15[r1]")
    assert result.items[0].explain == {
        "signals": {"pop": 0.75, "cooc": 0.0, "emb": 0.0},
        "rules": ["rule.boost:+0.15[r1]"],
        "raw": {"pop": 3.0, "cooc": 0.0, "emb": 0.0},
        "anchors": [],
    }


def test_partial_and_unavailable_co_visitation_are_warnings():
    v = small_views()
    v.covisitation[(T, S, "a")] = {"c": 1.0}
    partial = rank(query(anchors=("a", "b"), weights=Weights(1, 1, 0)),
                   viewset(BrokenCovisitation(v, {"b"})))
    assert [(w.code, w.detail) for w in partial.warnings] == [
        ("SIGNAL_PARTIAL", "cooc: 1 of 2 anchor lookups failed")]
    # c: 0.5 + 0.5 = 1.0 first
    assert [i.item_id for i in partial.items] == ["c", "a", "b"]
    down = rank(query(anchors=("b",)), viewset(BrokenCovisitation(v, {"b"})))
    assert [(w.code, w.detail) for w in down.warnings] == [
        ("SIGNAL_UNAVAILABLE", "cooc unavailable: b: partition for b not loaded")]


def test_tag_lookup_failure_skips_constraints():
    result = rank(query(forbidden_tags=("red",)), viewset(BrokenCatalog(small_views())))
    assert [i.item_id for i in result.items] == ["a", "b", "c"]
    assert [(w.code, w.detail) for w in result.warnings] == [
        ("TAG_LOOKUP_FAILED", "tag lookup failed, constraints skipped: catalog view not loaded")]


def test_cooc_mode_ranks_neighbours_and_falls_back_to_popularity():
    v = small_views()
    v.covisitation[(T, S, "a")] = {"x": 1.0, "y": 3.0}
    hit = rank(query(mode="cooc", anchors=("a",), weights=Weights(0, 1, 0)), viewset(v))
    assert [i.item_id for i in hit.items] == ["y", "x"]
    miss = rank(query(mode="cooc", anchors=("q",)), viewset(v))
    assert [i.item_id for i in miss.items] == ["a", "b", "c"]


def brand_views() -> InMemoryViews:
    v = InMemoryViews()
    v.popularity[(T, S)] = {"p1": 9, "p2": 8, "p3": 7, "p4": 1}
    for m in (meta("p1", "brand:acme", "shoe"), meta("p2", "brand:acme", "shoe"),
              meta("p3", "brand:zeta", "shoe"), meta("p4", "brand:zeta", "hat")):
        v.catalog[(T, m.item_id)] = m
    return v


def test_brand_cap_diversifies_selection():
    result = rank(query(k=3), viewset(brand_views()), EngineSettings(brand_cap=1))
    # p1 (acme), p2 acme capped, p3 (zeta), p4 zeta capped → only 2
    assert [i.item_id for i in result.items] == ["p1", "p3"]


def test_mmr_prefers_dissimilar_tags():
    # λ=0.5; max score 0.9. After p1: p2 0.5·(8/9)/0.9... computed on final scores:
    # scores p1 .9, p2 8/9, p3 .875, p4 .5; p2 vs p1 jaccard 1, p3 vs p1 1/3, p4 vs p1 0.
    # p2: .5·.9877 − .5·1 = −0.006; p3: .5·.9722 − .5/3 = 0.319; p4: .5·.5556 − 0 = 0.278
    result = rank(query(k=2), viewset(brand_views()), EngineSettings(mmr_lambda=0.5))
    assert sorted(i.item_id for i in result.items) == ["p1", "p3"]
    assert [i.item_id for i in result.items] == ["p1", "p3"]
