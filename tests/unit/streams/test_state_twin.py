"""Stream == batch twin: the stage functions under any routing, interleaving,
redelivery and duplication give the state the reducers give folded over a list."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Exposure, ExposureItem, Outcome
from streams.decay import value_at
from streams.history import HistoryConfig
from streams.popularity import PopularityConfig
from streams.state_config import StateConfig
from streams.twin import state_twin
from tests.unit.streams.sim import Simulation

BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
CONFIG = StateConfig(
    popularity=PopularityConfig(
        half_life_days=0.5, weights={"shown": 0.25, "click": 1, "conversion": 3}
    ),
    history=HistoryConfig(history_n=5, session_ms=30 * 60_000),
    grace_ms=10 * 86_400_000,  # arrival order never exceeds the grace in these tests
)


def iso(ms: int) -> str:
    s, milli = divmod(ms, 1000)
    import datetime as dt

    return dt.datetime.fromtimestamp(s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{milli:03d}Z"


@st.composite
def event_lists(draw: st.DrawFn) -> list[Event]:
    n_req = draw(st.integers(1, 12))
    items = [f"i{k}" for k in range(draw(st.integers(2, 6)))]
    events: list[Event] = []
    for r in range(n_req):
        rid = f"r{r}"
        user = draw(st.sampled_from(["u1", "u2", "u3"]))
        t = BASE_MS + draw(st.integers(0, 4 * 3_600_000))
        ctx = {
            "tenant": draw(st.sampled_from(["t1", "t2"])),
            "surface": draw(st.sampled_from(["home", "pdp"])),
        }
        shown = draw(st.lists(st.sampled_from(items), max_size=3, unique=True))
        if draw(st.booleans()) or not shown:  # some requests have no exposure: orphans
            events.append(
                Exposure(
                    rid,
                    user,
                    iso(t),
                    tuple(ExposureItem(i, n + 1) for n, i in enumerate(shown)),
                    ctx,
                )
            )
            if draw(st.integers(0, 5)) == 0:  # a repeated request_id
                events.append(
                    Exposure(rid, user, iso(t + 1), (ExposureItem(items[0], 1),), {"tenant": "t9"})
                )
        for _ in range(draw(st.integers(0, 3))):
            dt_ms = draw(st.integers(0, 3_600_000))
            events.append(
                Outcome(
                    rid,
                    user,
                    draw(st.sampled_from(items)),
                    draw(st.sampled_from(["click", "conversion"])),
                    iso(t + dt_ms),
                )
            )
    return events


def assert_matches_twin(sim: Simulation, events: list[Event]) -> None:
    twin = state_twin(events, CONFIG)
    live = sim.popularity()
    assert live.keys() == twin.popularity.keys()
    h = CONFIG.popularity.half_life_ms
    for key, score in twin.popularity.items():
        t = max(score.t_ms, live[key].t_ms)
        assert math.isclose(value_at(live[key], t, h), value_at(score, t, h), rel_tol=1e-9)
    assert sim.pair_counts() == twin.pair_counts
    assert sim.history() == twin.history


@settings(max_examples=150, deadline=None)
@given(events=event_lists(), seed=st.integers(0, 2**32 - 1))
def test_any_arrival_order_gives_the_batch_twin(events, seed):
    sim = Simulation(CONFIG, partitions=3, rng=random.Random(seed))
    # Kafka keeps order within a topic partition only: merge the two topics at random,
    # so outcomes may arrive before their exposure; the simulation interleaves partitions.
    rng = random.Random(seed)
    exposures = [e for e in events if isinstance(e, Exposure)]
    outcomes = [e for e in events if not isinstance(e, Exposure)]
    merged: list[Event] = []
    while exposures or outcomes:
        src = exposures if exposures and (not outcomes or rng.random() < 0.5) else outcomes
        merged.append(src.pop(0))
    sim.feed(merged)
    sim.run(final_tick_ms=BASE_MS + 100 * 86_400_000)
    assert_matches_twin(sim, events)


@settings(max_examples=100, deadline=None)
@given(events=event_lists(), seed=st.integers(0, 2**32 - 1))
def test_redelivery_and_duplicated_messages_never_double_count(events, seed):
    sim = Simulation(CONFIG, partitions=2, rng=random.Random(seed), redeliver=0.2, duplicate=0.2)
    sim.feed(events)
    sim.run(final_tick_ms=BASE_MS + 100 * 86_400_000)
    assert_matches_twin(sim, events)


def test_hand_derived_pairs_and_popularity():
    # u1 clicks i1 then i2 in one session, i3 an hour later: one pair {i1,i2}.
    t = BASE_MS
    events: list[Event] = [
        Exposure(
            "r1",
            "u1",
            iso(t),
            (ExposureItem("i1", 1), ExposureItem("i2", 2)),
            {"tenant": "t1", "surface": "home"},
        ),
        Outcome("r1", "u1", "i1", "click", iso(t + 1000)),
        Outcome("r1", "u1", "i2", "conversion", iso(t + 2000)),
        Outcome("r1", "u1", "i1", "click", iso(t + 3000)),  # same session again: no new pair
        Outcome("r1", "u1", "i3", "click", iso(t + 3_600_000)),
    ]
    twin = state_twin(events, CONFIG)
    assert twin.pair_counts == {("t1", "home", "i1", "i2"): 1, ("t1", "home", "i2", "i1"): 1}
    assert twin.neighbours[("t1", "home", "i1")] == [("i2", 1)]
    h = CONFIG.popularity.half_life_ms
    # i1: shown 0.25 at t, clicks 1 at t+1s and t+3s; value as of t+3s.
    expected_i1 = 0.25 * 2 ** (-3000 / h) + 1 * 2 ** (-2000 / h) + 1
    assert math.isclose(twin.popularity[("t1", "home", "i1")].value, expected_i1, rel_tol=1e-12)
    assert twin.history[("t1", "u1")] == (("i3", t + 3_600_000), ("i1", t + 3000), ("i2", t + 2000))
    sim = Simulation(CONFIG)
    sim.feed(events)
    sim.run()
    assert_matches_twin(sim, events)
