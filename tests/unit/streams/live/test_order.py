"""Any arrival order within the grace window gives identical tallies (stream == batch twin)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Assignment, Exposure, ExposureItem, Outcome
from schemas.timestamps import ms_to_rfc3339
from streams.live.config import LiveConfig
from streams.live.twin import Record, apply, batch_snapshots, initial, result

T0 = 1_767_225_600_000
CFG = LiveConfig(slice_keys=("device",), srm_slice_keys=("tenant",))

request = st.tuples(
    st.integers(0, 5),  # request id (small: duplicates happen)
    st.integers(0, 120_000),  # exposure time (all within the 5-minute grace)
    st.sampled_from(["home", "pdp"]),
    st.sampled_from(["mobile", "desktop"]),
    st.lists(
        st.tuples(
            st.sampled_from(["click", "conversion"]),
            st.sampled_from([0.5, 1.25, 3.0]),
            st.integers(0, 60_000),
        ),
        max_size=3,
    ),
    st.lists(st.sampled_from(["A", "B", "C"]), max_size=2),  # assignment records
    st.sampled_from([None, 12.0, 40.5, 99.0]),
)


def events_of(reqs: list) -> tuple[list, list, list]:
    exposures, outcomes, assignments = [], [], []
    for rid_n, t, surface, device, outs, arms, latency in reqs:
        rid = f"r{rid_n}"
        ctx = {"tenant": "t1" if rid_n % 2 else "t2", "surface": surface, "device": device}
        items = () if latency is None else (ExposureItem("a", 1), ExposureItem("b", 2))
        exposures.append(
            Exposure(rid, "u", ms_to_rfc3339(T0 + t), items, ctx, latency, latency == 99.0)
        )
        for kind, value, dt in outs:
            outcomes.append(Outcome(rid, "u", "a", kind, ms_to_rfc3339(T0 + t + dt), value))
        for arm in arms:
            assignments.append(
                Assignment("E", arm, rid, "u", ms_to_rfc3339(T0 + t), {"tenant": ctx["tenant"]})
            )
    outcomes.append(Outcome("nobody", "u", "a", "click", ms_to_rfc3339(T0), None))
    return exposures, outcomes, assignments


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(request, min_size=1, max_size=8), st.lists(st.integers(0, 2), max_size=80))
def test_any_interleaving_of_the_topics_gives_the_batch_tallies(reqs: list, picks: list) -> None:
    exposures, outcomes, assignments = events_of(reqs)
    batch = batch_snapshots([*exposures, *outcomes, *assignments], CFG)
    # Interleave the three topics in the order ``picks`` says; each keeps its own order.
    queues = [list(exposures), list(outcomes), list(assignments)]
    offsets = [0, 0, 0]
    state = initial(CFG)
    for pick in [*picks, *([0] * len(exposures)), *([1] * len(outcomes)), *([2] * 99)]:
        if queues[pick]:
            event = queues[pick].pop(0)
            apply(state, Record(0, offsets[pick], event))
            offsets[pick] += 1
    assert result(state) == batch
