"""Interleaving: team_draft, balanced and optimized, simulated offline (spec §3.7).

The interleaved list is re-simulated from the two rankers with one seeded RNG over
request_ids in sorted order; each click on a shown item credits the team that
placed it; the request winner has more credits (equal, including 0–0, is a tie);
p is the two-sided sign test over non-tied requests. Our RNG is numpy's (Go's
math/rand stream is not reproduced); results that do not depend on coin flips match.

Algorithms (registry ``ALGORITHMS``):

* ``team_draft``: a coin flip picks the first team, then turns alternate strictly;
  a team with no unseen item left loses its turn (the original's rule, quirk §9.8;
  textbook team-draft gives the next pick to the team with fewer picks);
* ``balanced``: the team with fewer placed items picks, ties by coin flip; if it has
  no unseen item the other team picks;
* ``optimized``: only teams with unseen items are eligible; between two eligible
  teams, as balanced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from eval.records import Outcome, RankList
from eval.stats.ztest import sign_test

Team = str  # "A" or "B"
Interleaver = Callable[
    [Sequence[str], Sequence[str], int, np.random.Generator], list[tuple[str, Team]]
]


class _Teams:
    def __init__(self, a: Sequence[str], b: Sequence[str]) -> None:
        self.lists = {"A": a, "B": b}
        self.cursor = {"A": 0, "B": 0}
        self.placed = {"A": 0, "B": 0}
        self.shown: set[str] = set()
        self.out: list[tuple[str, Team]] = []

    def has_unseen(self, team: Team) -> bool:
        items, i = self.lists[team], self.cursor[team]
        while i < len(items) and items[i] in self.shown:
            i += 1
        self.cursor[team] = i
        return i < len(items)

    def pick(self, team: Team) -> None:
        item = self.lists[team][self.cursor[team]]
        self.shown.add(item)
        self.placed[team] += 1
        self.out.append((item, team))


def _coin(rng: np.random.Generator) -> Team:
    return "A" if rng.integers(0, 2) == 0 else "B"


def _other(team: Team) -> Team:
    return "B" if team == "A" else "A"


def team_draft(
    a: Sequence[str], b: Sequence[str], limit: int, rng: np.random.Generator
) -> list[tuple[str, Team]]:
    """Strictly alternating team draft from a coin-flipped first team."""
    teams = _Teams(a, b)
    turn = _coin(rng)
    while len(teams.out) < limit and (teams.has_unseen("A") or teams.has_unseen("B")):
        if teams.has_unseen(turn):
            teams.pick(turn)
        turn = _other(turn)
    return teams.out


def balanced(
    a: Sequence[str], b: Sequence[str], limit: int, rng: np.random.Generator
) -> list[tuple[str, Team]]:
    """The team with fewer placed items picks; a tie is a coin flip."""
    teams = _Teams(a, b)
    while len(teams.out) < limit and (teams.has_unseen("A") or teams.has_unseen("B")):
        if teams.placed["A"] != teams.placed["B"]:
            team = "A" if teams.placed["A"] < teams.placed["B"] else "B"
        else:
            team = _coin(rng)
        teams.pick(team if teams.has_unseen(team) else _other(team))
    return teams.out


def optimized(
    a: Sequence[str], b: Sequence[str], limit: int, rng: np.random.Generator
) -> list[tuple[str, Team]]:
    """Prefer a team with unseen items; between two, the one with fewer picks (coin on ties)."""
    teams = _Teams(a, b)
    while len(teams.out) < limit:
        eligible = [t for t in ("A", "B") if teams.has_unseen(t)]
        if not eligible:
            break
        if len(eligible) == 1:
            team = eligible[0]
        elif teams.placed["A"] != teams.placed["B"]:
            team = "A" if teams.placed["A"] < teams.placed["B"] else "B"
        else:
            team = _coin(rng)
        teams.pick(team)
    return teams.out


ALGORITHMS: dict[str, Interleaver] = {
    "team_draft": team_draft,
    "balanced": balanced,
    "optimized": optimized,
}


@dataclass(frozen=True, slots=True)
class InterleavingResult:
    algorithm: str
    requests: int
    wins_a: int
    wins_b: int
    ties: int
    p_value: float

    @property
    def win_rate_a(self) -> float:
        """wins_a / (wins_a + wins_b), 0 without decided requests."""
        decided = self.wins_a + self.wins_b
        return self.wins_a / decided if decided else 0.0

    @property
    def win_rate_b(self) -> float:
        """wins_b / (wins_a + wins_b), 0 without decided requests."""
        decided = self.wins_a + self.wins_b
        return self.wins_b / decided if decided else 0.0


def credits(shown: Sequence[tuple[str, Team]], outcomes: Iterable[Outcome]) -> dict[Team, int]:
    """Credit each click on a shown item to the team that placed it."""
    owner = dict(shown)
    credit = {"A": 0, "B": 0}
    for outcome in outcomes:
        if outcome.kind == "click" and outcome.item_id in owner:
            credit[owner[outcome.item_id]] += 1
    return credit


def evaluate_interleaving(
    ranker_a: Iterable[RankList],
    ranker_b: Iterable[RankList],
    outcomes: Iterable[Outcome],
    *,
    algorithm: str,
    max_results: int,
    rng: np.random.Generator,
) -> InterleavingResult:
    """Simulate the interleaving for requests both rankers served and count wins."""
    lists_a = {r.request_id: r.items for r in ranker_a}  # a later list wins
    lists_b = {r.request_id: r.items for r in ranker_b}
    by_request: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_request.setdefault(outcome.request_id, []).append(outcome)
    interleave = ALGORITHMS[algorithm]
    wins_a = wins_b = ties = 0
    common = sorted(lists_a.keys() & lists_b.keys())
    for request_id in common:
        a, b = lists_a[request_id], lists_b[request_id]
        limit = max_results if max_results > 0 else max(len(a), len(b))
        credit = credits(interleave(a, b, limit, rng), by_request.get(request_id, ()))
        if credit["A"] > credit["B"]:
            wins_a += 1
        elif credit["B"] > credit["A"]:
            wins_b += 1
        else:
            ties += 1
    return InterleavingResult(
        algorithm, len(common), wins_a, wins_b, ties, sign_test(wins_a, wins_b)
    )
