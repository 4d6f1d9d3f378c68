"""The pure model: seeded catalog and users, position bias, taste match, sessions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.simulator.arms import ArmPlan
from app.simulator.catalog import Catalog, CatalogItem, item_events, make_catalog
from app.simulator.driver import SimulatorConfig, World
from app.simulator.offline import simulate_offline
from app.simulator.population import (
    ClickModel,
    SessionPlanner,
    User,
    examination,
    make_population,
    react,
)

SMALL = SimulatorConfig(n_items=300, n_categories=8, n_users=60)


def tiny_catalog() -> Catalog:
    """Category 0 (brand 0): a0..a3; category 1 (brand 1): b0..b3; all priced 10."""
    items = [CatalogItem(f"a{i}", 0, 0, 10.0) for i in range(4)]
    items += [CatalogItem(f"b{i}", 1, 1, 10.0) for i in range(4)]
    return Catalog(tuple(items), n_categories=2, n_brands=2, brand_category=(0, 1))


def fan_of_a() -> User:
    """Likes category 0 and brand 0 only: match(a·) = 1, match(b·) = 0."""
    return User("u", np.array([1.0, 0.0]), np.array([1.0, 0.0]), price_sensitivity=0.0)


def test_same_seed_same_world_and_choices():
    one, two = World.build(11, SMALL), World.build(11, SMALL)
    assert one.catalog == two.catalog
    assert [u.user_id for u in one.users] == [u.user_id for u in two.users]
    assert all(np.array_equal(a.category_taste, b.category_taste)
               for a, b in zip(one.users, two.users, strict=True))
    assert World.build(12, SMALL).catalog != one.catalog

    def run(world: World) -> list[tuple[str, int, int]]:
        result = simulate_offline(world.catalog, world.users, ArmPlan(), ClickModel(),
                                  world.rng, n_requests=150, k=5)
        return [(v, c.requests, c.clicks) for v, c in sorted(result.summary.arms.items())]

    assert run(World.build(11, SMALL)) == run(World.build(11, SMALL))


def test_catalog_shape_and_item_events():
    catalog = make_catalog(np.random.default_rng(3), n_items=3000)
    assert len(catalog) == 3000 and len(set(catalog.by_id)) == 3000
    assert all(catalog.brand_category[it.brand] == it.category for it in catalog.items)
    events = item_events(catalog, "demo")
    assert events[0].tags == (f"category:c{catalog.items[0].category:02d}",
                              f"brand:b{catalog.items[0].brand:03d}")
    assert all(e.check() and e.price is not None and e.price > 0 for e in events)


def test_examination_by_hand():
    # 1/log2(r+1): rank 1 → 1, rank 3 → 1/2, rank 7 → 1/3
    assert (examination(1), examination(3), examination(7)) == (1.0, 0.5, 1 / 3)
    with pytest.raises(ValueError, match="rank must be ≥ 1"):
        examination(0)


def test_position_bias_higher_rank_is_clicked_more():
    """Three items the user matches equally (match 1, attractiveness = ceiling 0.5), so
    only position differs: P(click at r) = 0.5/log2(r+1) = 0.5, 0.3155, 0.25."""
    catalog, user, model = tiny_catalog(), fan_of_a(), ClickModel()
    expected = [0.5, 0.5 / math.log2(3), 0.25]
    assert [model.click_probability(1.0, r) for r in (1, 2, 3)] == pytest.approx(expected)

    rng, n = np.random.default_rng(5), 4000
    clicks = np.zeros(3)
    for _ in range(n):
        for rank, _item in react(user, ["a0", "a1", "a2"], catalog, model, rng).clicks:
            clicks[rank - 1] += 1
    observed = clicks / n
    for p, q in zip(observed, expected, strict=True):
        assert abs(p - q) < 4 * math.sqrt(q * (1 - q) / n)
    assert observed[0] > observed[1] > observed[2]


def test_taste_match_increases_click_probability():
    """At the same rank an item of the liked category is clicked with attractiveness
    0.5 (ceiling), one of the other category with 0.02 (floor)."""
    catalog, user, model = tiny_catalog(), fan_of_a(), ClickModel()
    liked, other = user.matches(catalog, [0, 4], model.brand_share)
    assert (liked, other) == (1.0, 0.0)
    assert model.click_probability(liked, 2) > model.click_probability(other, 2)

    rng, n = np.random.default_rng(6), 3000
    first = {"a0": 0, "b0": 0}
    for _ in range(n):
        for item in ("a0", "b0"):
            first[item] += len(react(user, [item], catalog, model, rng).clicks)
    assert abs(first["a0"] / n - 0.5) < 4 * math.sqrt(0.25 / n)
    assert abs(first["b0"] / n - 0.02) < 4 * math.sqrt(0.02 * 0.98 / n)


def test_conversion_depends_on_taste_and_price():
    model = ClickModel()
    cheap = model.conversion_probability(1.0, 5.0, 0.5, 10.0)
    dear = model.conversion_probability(1.0, 50.0, 0.5, 10.0)
    # 0.3 · 1 · exp(−0.5·5/10) and exp(−0.5·50/10)
    assert (cheap, dear) == pytest.approx((0.3 * math.exp(-0.25), 0.3 * math.exp(-2.5)))
    assert model.conversion_probability(0.0, 5.0, 0.5, 10.0) == 0.0


def test_clicks_only_on_items_of_the_list_and_conversions_only_after_clicks():
    catalog, user = tiny_catalog(), fan_of_a()
    rng = np.random.default_rng(8)
    for _ in range(200):
        reaction = react(user, ["a0", "unknown", "a1"], catalog,
                         ClickModel(conversion_base=1.0), rng)
        clicked = {item for _, item in reaction.clicks}
        assert clicked <= {"a0", "a1"}
        assert {item for item, _ in reaction.conversions} <= clicked
        assert all(value == 10.0 for _, value in reaction.conversions)


def test_sessions_start_on_home_then_anchor_on_the_last_click():
    world = World.build(2, SMALL)
    planner = SessionPlanner(world.users, mean_session_length=50, continue_share=1.0)
    rng = np.random.default_rng(0)
    first = planner.next_visit(rng)
    assert (first.surface, first.anchor, first.step) == ("home", None, 0)
    reaction = react(world.users[first.user], [world.catalog.items[0].item_id],
                     world.catalog, ClickModel(floor=1.0, ceiling=1.0), rng)
    planner.finish(first, reaction)
    again = planner.next_visit(rng)  # continue_share 1: the open session goes on
    assert (again.user, again.session_id, again.step) == (first.user, first.session_id, 1)
    assert (again.surface, again.anchor) == ("pdp", world.catalog.items[0].item_id)


def test_population_tastes_are_distributions():
    world = World.build(4, SMALL)
    users = make_population(np.random.default_rng(1), world.catalog, n_users=20)
    for user in users:
        assert user.category_taste.sum() == pytest.approx(1.0)
        assert user.brand_taste.sum() == pytest.approx(1.0)
        assert user.price_sensitivity > 0 and user.activity > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"floor": 0.6, "ceiling": 0.5}, "floor ≤ ceiling"),
    ({"ceiling": 1.5}, "floor ≤ ceiling"),
    ({"brand_share": -0.1}, "brand_share"),
])
def test_invalid_click_models(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClickModel(**kwargs)
