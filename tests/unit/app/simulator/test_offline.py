"""Does a population whose tastes co-visitation can see make arm B beat arm A? (no HTTP)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.simulator.arms import ArmPlan
from app.simulator.driver import SimulatorConfig, World
from app.simulator.offline import catalog_views, rank_visit, simulate_offline
from app.simulator.population import ClickModel, Visit, expected_clicks, react
from app.simulator.traffic import recommend_body
from tests.unit.app.simulator.test_model import fan_of_a, tiny_catalog

T = "demo"


def test_b_beats_a_on_a_world_derived_by_hand():
    """pdp request anchored on a3 by a user who likes category a only, k = 2.

    Views: popularity b0 9, b1 8, a0 7, b2 6; co-visitation of a3: a1 5, a2 4.
    Blend score = pop·s/(s+1) + cooc·c/(c+1).

    A (pop 1, cooc 0): b0 .900, b1 .889, a0 .875, … → [b0, b1], both match 0, so
      E[clicks] = examination(1)·0.02 + examination(2)·0.02 = 0.02·(1 + 1/log2 3) = 0.0326
    B (pop 0.3, cooc 1): a1 5/6 = .833, a2 4/5 = .800, b0 .3·.9 = .270 → [a1, a2],
      E[clicks] = 0.5·(1 + 1/log2 3) = 0.8155
    """
    catalog, user, model, plan = tiny_catalog(), fan_of_a(), ClickModel(), ArmPlan()
    views = catalog_views(catalog, T)
    views.popularity[(T, "pdp")] = {"b0": 9, "b1": 8, "a0": 7, "b2": 6}
    views.covisitation[(T, "pdp", "a3")] = {"a1": 5, "a2": 4}
    visit = Visit(0, "u-s1", "pdp", "a3", 1)

    shown = {v: rank_visit(views, T, recommend_body(visit, "u", plan, v, 2), "u")
             for v in ("A", "B")}
    assert shown == {"A": ["b0", "b1"], "B": ["a1", "a2"]}
    derived = {"A": 0.02 * (1 + 1 / math.log2(3)), "B": 0.5 * (1 + 1 / math.log2(3))}
    for v in ("A", "B"):
        assert expected_clicks(user, shown[v], catalog, model) == pytest.approx(derived[v])

    rng, n = np.random.default_rng(21), 2000
    for v in ("A", "B"):
        clicks = [len(react(user, shown[v], catalog, model, rng).clicks) for _ in range(n)]
        match = 1.0 if v == "B" else 0.0
        p = [model.click_probability(match, rank) for rank in (1, 2)]
        sd = math.sqrt(sum(q * (1 - q) for q in p))  # two independent Bernoullis
        assert abs(float(np.mean(clicks)) - derived[v]) < 4 * sd / math.sqrt(n)


def test_b_beats_a_when_the_loop_learns_from_its_own_clicks():
    """The whole loop, views learned from the simulated clicks (``offline.Learner``).

    Why B should win: a pdp request is anchored on an item the user just clicked, so
    (taste-driven clicks) in a category the user likes; its co-visitation neighbours
    are items other users clicked along with it, who also liked that category. A shows
    the namespace's most clicked items whatever the user's taste. We assert the model's
    expected clicks per request (no sampling noise) are higher for B, and that the
    sampled CTRs differ in the same direction by more than 3 standard errors.
    """
    config = SimulatorConfig(n_items=600, n_categories=12, n_users=300)
    world = World.build(5, config)
    run = simulate_offline(world.catalog, world.users, ArmPlan(), ClickModel(), world.rng,
                           n_requests=3000, k=10)
    a, b = run.summary.arms["A"], run.summary.arms["B"]
    expected_a = run.expected_clicks["A"] / a.requests
    expected_b = run.expected_clicks["B"] / b.requests
    assert expected_b > expected_a
    # clicks per request ≤ k; a Bernoulli-sum bound of the variance: Σ p(1−p) ≤ E[clicks]
    se = math.sqrt(expected_a / a.requests + expected_b / b.requests)
    assert b.ctr - a.ctr > 3 * se, (a, b, se)
