"""``pace_delay``: a paced replay's schedule, simulated on a clock that only its sleeps
move (sending takes no time), and on one where sending takes time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.replay import PACE_TICK_S, pace_delay


def _simulate(n: int, rate: float, send_s: float, tick_s: float) -> tuple[list[float], int]:
    """Send times of ``n`` events (each send takes ``send_s``), and the number of sleeps."""
    clock, sleeps, times = 0.0, 0, []
    for sent in range(1, n + 1):
        times.append(clock)
        clock += send_s
        delay = pace_delay(sent, rate, clock, tick_s)
        if delay:
            sleeps += 1
            clock += delay
    return times, sleeps


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.floats(10, 20_000), st.sampled_from([0.0, 1e-5, 2e-4]),
       st.sampled_from([0.001, PACE_TICK_S, 0.02]))
def test_no_event_goes_out_more_than_a_tick_early(n: int, rate: float, send_s: float,
                                                  tick_s: float) -> None:
    times, _ = _simulate(n, rate, send_s, tick_s)
    for k, t in enumerate(times):  # event k+1 is due at k / rate
        assert t >= k / rate - tick_s - 1e-9


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.floats(10, 20_000), st.sampled_from([0.001, PACE_TICK_S]))
def test_the_rate_is_kept_when_sending_is_free(n: int, rate: float, tick_s: float) -> None:
    times, _ = _simulate(n, rate, 0.0, tick_s)
    # never late either: each event goes out by its due time (sends cost nothing here)
    for k, t in enumerate(times):
        assert t <= k / rate + 1e-9


def test_sleeps_once_per_tick_not_once_per_event() -> None:
    # 2,000 events/s: after a sleep the clock is on schedule, and the next sleep comes
    # once 10 more events are ahead (10 / 2000 = the 5 ms tick; 11 when the float sum
    # rounds just under it), so 4,000 events take between 4000/11 and 4000/10 sleeps
    _, sleeps = _simulate(4000, 2000.0, 0.0, PACE_TICK_S)
    assert 4000 // 11 <= sleeps <= 4000 // 10
    _, every = _simulate(4000, 2000.0, 0.0, 0.0)
    assert every == 4000


def test_behind_schedule_means_no_sleep() -> None:
    assert pace_delay(10, 100.0, 0.2) == 0.0  # due at 0.1 s, already 0.2 s in
    assert pace_delay(10, 100.0, 0.099) == 0.0  # 1 ms ahead: under the tick
    assert pace_delay(10, 100.0, 0.09) == pytest.approx(0.01)
