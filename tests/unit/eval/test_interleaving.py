"""Interleaving algorithms, credit and the sign test (spec §3.7)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.interleaving import ALGORITHMS, balanced, credits, evaluate_interleaving, team_draft
from eval.jsonl import JsonlSource
from eval.records import Outcome, RankList, outcome_from_json, ranklist_from_json
from tests.unit.eval.support import TINY


class FixedCoins:
    """A stand-in for np.random.Generator whose coin flips are given (0 → A, 1 → B)."""

    def __init__(self, *flips: int) -> None:
        self.flips = list(flips)

    def integers(self, low: int, high: int) -> int:
        return self.flips.pop(0)


def test_team_draft_alternates_strictly_and_a_team_without_items_loses_its_turn() -> None:
    a, b = ["a", "b", "c", "d"], ["a", "x"]
    assert team_draft(a, b, 5, FixedCoins(0)) == [  # type: ignore[arg-type]
        ("a", "A"),
        ("x", "B"),
        ("b", "A"),
        ("c", "A"),
        ("d", "A"),
    ]
    assert team_draft(a, b, 4, FixedCoins(1)) == [  # type: ignore[arg-type]
        ("a", "B"),
        ("b", "A"),
        ("x", "B"),
        ("c", "A"),
    ]


def test_balanced_lets_the_team_with_fewer_items_pick() -> None:
    out = balanced(["a", "b"], ["a", "c"], 4, FixedCoins(1, 0))  # type: ignore[arg-type]
    # B takes a (coin), A has fewer → b, tie → coin A … A has no unseen item → B takes c
    assert out == [("a", "B"), ("b", "A"), ("c", "B")]


def _tiny(name: str) -> list[RankList]:
    return list(JsonlSource(TINY / name, ranklist_from_json, name=name))


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@pytest.mark.parametrize("seed", range(8))
def test_tiny_result_does_not_depend_on_the_rng(algorithm: str, seed: int) -> None:
    """r1: i1 only from A, i3 only from B → tie; r2: i4 is always B's first pick → B wins."""
    outcomes = list(JsonlSource(TINY / "outcomes_interleaving.jsonl", outcome_from_json, name="o"))
    result = evaluate_interleaving(
        _tiny("ranker_a.jsonl"),
        _tiny("ranker_b.jsonl"),
        outcomes,
        algorithm=algorithm,
        max_results=0,
        rng=np.random.default_rng(seed),
    )
    assert (result.requests, result.wins_a, result.wins_b, result.ties) == (2, 0, 1, 1)
    assert (result.win_rate_a, result.win_rate_b) == (0.0, 1.0)
    assert result.p_value == 0.31731050786291415


def test_only_common_requests_count_and_a_later_list_wins() -> None:
    a = [
        RankList("r1", "u", None, ("x",)),
        RankList("r1", "u", None, ("y",)),
        RankList("r2", "u", None, ("z",)),
    ]
    b = [RankList("r1", "u", None, ("w",))]
    clicks = [Outcome("r1", "u", "y", "click", None), Outcome("r1", "u", "x", "click", None)]
    result = evaluate_interleaving(
        a,
        b,
        clicks,
        algorithm="team_draft",
        max_results=2,
        rng=FixedCoins(0),  # type: ignore[arg-type]
    )
    assert (result.requests, result.wins_a) == (1, 1)  # y (the later list) is shown; x is not


def test_non_clicks_and_unshown_items_earn_nothing() -> None:
    shown = [("a", "A"), ("b", "B")]
    outcomes = [
        Outcome("r", "u", "a", "conversion", None),
        Outcome("r", "u", "c", "click", None),
        Outcome("r", "u", "b", "CLICK", None),
        Outcome("r", "u", "b", "click", None),
    ]
    assert credits(shown, outcomes) == {"A": 0, "B": 2}


ranking = st.lists(st.sampled_from("abcdefghij"), max_size=8, unique=True)


@settings(database=None)  # no example database inside the repo
@given(
    a=ranking,
    b=ranking,
    clicked=st.lists(st.sampled_from("abcdefghijk"), max_size=12),
    limit=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    algorithm=st.sampled_from(sorted(ALGORITHMS)),
)
def test_credit_is_conserved_and_lists_are_well_formed(
    a: Sequence[str], b: Sequence[str], clicked: list[str], limit: int, seed: int, algorithm: str
) -> None:
    shown = ALGORITHMS[algorithm](a, b, limit, np.random.default_rng(seed))
    items = [item for item, _ in shown]
    assert len(items) == len(set(items)) <= limit
    assert len(items) == min(limit, len(set(a) | set(b)))
    for team, source in (("A", a), ("B", b)):
        picked = [item for item, owner in shown if owner == team]
        assert all(item in source for item in picked)
        assert picked == sorted(picked, key=source.index)  # each team keeps its own order
    outcomes = [Outcome("r", "u", item, "click", None) for item in clicked]
    credit = credits(shown, outcomes)
    assert credit["A"] + credit["B"] == sum(1 for item in clicked if item in items)
