"""Invariants of the engine for any views, rules and request (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from serving.engine.model import EngineSettings
from serving.engine.pipeline import rank
from serving.engine.rules import Rule
from serving.engine.weights import Weights
from serving.views import InMemoryViews, ItemMeta
from tests.unit.serving.engine_fixtures import NOW, S, T, query, viewset

ITEMS = [f"i{n}" for n in range(12)]
TAGS = ["red", "blue", "brand:acme", "category:shoes"]
item = st.sampled_from(ITEMS)
score = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[InMemoryViews, dict[str, object], EngineSettings]:
    v = InMemoryViews()
    v.popularity[(T, S)] = draw(st.dictionaries(item, score, max_size=10))
    for anchor in draw(st.lists(item, max_size=3, unique=True)):
        v.covisitation[(T, S, anchor)] = draw(st.dictionaries(item, score, max_size=5))
    for i in ITEMS:
        tags = draw(st.frozensets(st.sampled_from(TAGS), max_size=3))
        v.catalog[(T, i)] = ItemMeta(i, tags, available=draw(st.booleans()))
    v.history[(T, "u")] = [(i, NOW) for i in draw(st.lists(item, max_size=3))]
    rules = tuple(
        Rule(f"r{n}", draw(st.sampled_from(["block", "pin", "boost"])),
             "item", item_ids=tuple(draw(st.lists(item, min_size=1, max_size=3))),
             priority=draw(st.integers(0, 3)),
             boost_value=draw(st.floats(-1, 2, allow_nan=False)))
        for n in range(draw(st.integers(0, 4)))
    ) + tuple(
        Rule(f"t{n}", "block", "tag", target_key=draw(st.sampled_from(["red", "blue"])),
             priority=draw(st.integers(0, 3)))
        for n in range(draw(st.integers(0, 1)))
    )
    kw: dict[str, object] = {
        "k": draw(st.integers(1, 8)),
        "user_id": "u",
        "anchors": tuple(draw(st.lists(item, max_size=2, unique=True))),
        "include_ids": tuple(draw(st.lists(item, max_size=4, unique=True))),
        "exclude_ids": tuple(draw(st.lists(item, max_size=4, unique=True))),
        "forbidden_tags": tuple(draw(st.lists(st.sampled_from(TAGS), max_size=1))),
        "max_per_tag": tuple(draw(st.dictionaries(st.sampled_from(TAGS), st.integers(0, 2),
                                                  max_size=2)).items()),
        "weights": Weights(draw(st.floats(0, 2)), draw(st.floats(0, 2)), 0.0),
        "rules": rules,
        "include_reasons": True,
        "explain": "full",
    }
    eng = EngineSettings(mmr_lambda=draw(st.sampled_from([0.0, 0.5])),
                         brand_cap=draw(st.integers(0, 2)))
    return v, kw, eng


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_deterministic_and_never_serves_blocked_or_excluded(
    scenario: tuple[InMemoryViews, dict[str, object], EngineSettings],
) -> None:
    v, kw, eng = scenario
    first = rank(query(**kw), viewset(v), eng)
    assert rank(query(**kw), viewset(v), eng) == first
    served = [i.item_id for i in first.items]
    assert len(served) == len(set(served)) and len(served) <= kw["k"]  # type: ignore[operator]
    rules = kw["rules"]
    assert isinstance(rules, tuple)
    blocked = {i for r in rules if r.action == "block" and r.target_type == "item"
               for i in r.item_ids}
    blocked_tags = {r.target_key for r in rules if r.action == "block" and r.target_type == "tag"}
    forbidden = set(kw["forbidden_tags"])  # type: ignore[call-overload]
    for i in served:
        tags = v.catalog[(T, i)].tags
        assert i not in blocked and i not in kw["exclude_ids"]  # type: ignore[operator]
        assert v.catalog[(T, i)].available
        assert not (tags & blocked_tags) and not (tags & forbidden)
    if kw["include_ids"]:
        assert set(served) <= set(kw["include_ids"])  # type: ignore[call-overload]
