"""The one-pass ranking (``fast_path``) gives the reference pipeline's answer, or none."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.engine.fast_path import fast_rank
from serving.engine.model import EngineSettings, RankQuery
from serving.engine.pipeline import rank, reference_rank
from serving.engine.rules import Rule
from serving.engine.weights import Weights
from serving.views import InMemoryViews, ItemMeta
from tests.unit.serving.engine_fixtures import (
    NOW,
    BrokenCatalog,
    S,
    T,
    meta,
    query,
    small_views,
    viewset,
)

ITEMS = [f"i{n}" for n in range(14)]
TAGS = ["red", "blue", "brand:acme", "category:shoes"]
TARGETS = [("tag", "red"), ("tag", "blue"), ("brand", "acme"), ("category", "shoes")]


def scenario(draw: st.DrawFn) -> tuple[InMemoryViews, RankQuery, EngineSettings]:
    """Views, a query and settings, with every kind of rule the fast path takes (and a
    few it declines: tag pins), timed windows, exclusions, history and co-visitation."""
    score = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
    item = st.sampled_from(ITEMS)
    signalled = st.sampled_from(ITEMS[:9])  # the rest can only join by a rule's injection
    v = InMemoryViews()
    v.popularity[(T, S)] = draw(st.dictionaries(signalled, score, max_size=9))
    for anchor in draw(st.lists(item, max_size=3, unique=True)):
        v.covisitation[(T, S, anchor)] = draw(st.dictionaries(signalled, score, max_size=6))
    for i in ITEMS:
        if draw(st.integers(0, 9)) == 0:  # an item the catalog does not know
            continue
        tags = draw(st.frozensets(st.sampled_from(TAGS), max_size=3))
        v.catalog[(T, i)] = ItemMeta(i, tags, available=draw(st.integers(0, 5)) > 0)
    v.history[(T, "u")] = [(i, NOW) for i in draw(st.lists(item, max_size=3))]
    window = st.sampled_from([None, None, None, NOW - 1, NOW, NOW + 1])
    rules = []
    for n in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(["block", "pin", "boost"]))
        on_item = draw(st.booleans()) or (action == "pin" and draw(st.integers(0, 5)) > 0)
        target, key = ("item", "") if on_item else draw(st.sampled_from(TARGETS))
        rules.append(Rule(
            f"r{n}", action, target, target_key=key,
            item_ids=tuple(draw(st.lists(item, min_size=1, max_size=3))) if on_item else (),
            priority=draw(st.integers(0, 3)),
            valid_from_ms=draw(window), valid_until_ms=draw(window),
            boost_value=draw(st.sampled_from([0.0, 0.5, -0.25, 2.0, 1e-3])),
            max_pins=draw(st.integers(0, 2)),
            surface=draw(st.sampled_from(["", "", S, "other"])),
        ))
    q = query(
        k=draw(st.integers(1, 8)),
        user_id="u",
        anchors=tuple(draw(st.lists(item, max_size=2, unique=True))),
        exclude_ids=tuple(draw(st.lists(item, max_size=3, unique=True))),
        weights=Weights(draw(st.sampled_from([0.0, 1.0, 0.7])),
                        draw(st.sampled_from([0.0, 0.5, 1.0])), 0.0),
        rules=tuple(rules),
        mode=draw(st.sampled_from(["blend", "blend", "cooc"])),
        catalog_fill=draw(st.booleans()),
    )
    eng = EngineSettings(max_pin_slots=draw(st.integers(0, 3)),
                         fanout_factor=draw(st.integers(1, 2)))
    return v, q, eng


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_an_answer_is_the_reference_answer(data: st.DataObject) -> None:
    v, q, eng = scenario(data.draw)
    fast = fast_rank(q, viewset(v), eng)
    if not any(r.action == "pin" and r.target_type != "item" for r in q.rules):
        assert fast is not None  # finite scores, a working catalog: nothing to decline
    if fast is not None:
        assert fast == reference_rank(q, viewset(v), eng)


def test_a_catalog_update_is_seen_by_the_remembered_rule_effects() -> None:
    v = small_views()  # a is red
    rules = (Rule("no-red", "block", "tag", target_key="red"),)
    q = query(k=4, rules=rules)
    first = fast_rank(q, viewset(v), EngineSettings())
    assert first is not None
    assert [i.item_id for i in first.items] == ["b", "d"]  # a and c are red
    v.catalog[(T, "a")] = meta("a", "blue")  # a new entry object: looked at again
    second = fast_rank(q, viewset(v), EngineSettings())
    assert second is not None
    assert [i.item_id for i in second.items] == ["a", "b", "d"]  # a 0.8, b 0.75, d 0.2
    assert second == reference_rank(q, viewset(v), EngineSettings())


def test_boosts_and_an_injected_pin_by_hand() -> None:
    """pop a 4 (0.8), b 3 (0.75), c 1 (0.5), d 0.25 (0.2). Boost blue by 0.5: b gets
    0.75·0.5 = 0.375, 1.125. Boost item c by 1.0: c 0.5 + 0.5 = 1.0. Boost item d by 0:
    delta = 0.2·0 or 0 = 0, d stays 0.2. Pin z (catalogued, not a candidate): injected
    with score 0 and shown first; then b, c, a by score."""
    v = small_views()
    rules = (
        Rule("blue", "boost", "tag", target_key="blue", boost_value=0.5, priority=3),
        Rule("c", "boost", "item", item_ids=("c",), boost_value=1.0, priority=2),
        Rule("d", "boost", "item", item_ids=("d",), boost_value=0.0, priority=2),
        Rule("z", "pin", "item", item_ids=("z",), priority=1),
    )
    result = fast_rank(query(k=4, rules=rules), viewset(v), EngineSettings())
    assert result is not None
    assert [(i.item_id, i.score, i.pinned) for i in result.items] == [
        ("z", 0.0, True), ("b", 1.125, False), ("c", 1.0, False), ("a", 0.8, False)]
    assert [w.code for w in result.warnings] == ["RULE_PIN_INJECTED"]


def test_a_tag_boost_after_a_pin_reaches_the_injected_item() -> None:
    """z (green) is pinned in at score 0 by the first rule; the green boost that runs
    after it adds delta = 0·0.5 or 0.5 = 0.5."""
    rules = (Rule("z", "pin", "item", item_ids=("z",), priority=2),
             Rule("g", "boost", "tag", target_key="green", boost_value=0.5, priority=1))
    result = fast_rank(query(k=3, rules=rules), viewset(small_views()), EngineSettings())
    assert result is not None
    assert [(i.item_id, i.score) for i in result.items] == [("z", 0.5), ("a", 0.8), ("b", 0.75)]


@pytest.mark.parametrize("change", [
    {"include_reasons": True},
    {"explain": "summary"},
    {"include_ids": ("a",)},
    {"required_tags": ("red",)},
    {"forbidden_tags": ("red",)},
    {"max_per_tag": (("red", 1),)},
    {"rules": (Rule("p", "pin", "tag", target_key="red"),)},
])
def test_other_requests_are_left_to_the_reference(change: dict[str, object]) -> None:
    assert fast_rank(query(**change), viewset(small_views()), EngineSettings()) is None


def test_diversity_and_a_failing_catalog_are_left_to_the_reference() -> None:
    v = small_views()
    assert fast_rank(query(), viewset(v), EngineSettings(mmr_lambda=0.5)) is None
    broken = BrokenCatalog(v)
    assert fast_rank(query(), viewset(broken), EngineSettings()) is None
    codes = [w.code for w in rank(query(), viewset(broken)).warnings]
    assert codes == ["TAG_LOOKUP_FAILED"]
