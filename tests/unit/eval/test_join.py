"""Join and data quality (spec §1.8): memory vs stream duplicates, orphans, completeness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.errors import UnsortedInputError
from eval.join import JoinTally, join_memory, join_sorted
from eval.records import Exposure, ExposureItem, Outcome
from eval.timesplit import Window, within

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def exp(rid: str, *items: str, ts: datetime | None = T0) -> Exposure:
    return Exposure.of(rid, "u", ts, tuple(ExposureItem(i, n) for n, i in enumerate(items, 1)))


def out(rid: str, item: str = "i1", ts: datetime | None = T0) -> Outcome:
    return Outcome(rid, "u", item, "click", ts)


def test_memory_join_first_exposure_wins_and_orphans_fail_the_join() -> None:
    exposures = [exp("r1", "i1"), exp("r2"), exp("r1", "i9"), exp("r3", "i1")]
    outcomes = [out("r1"), out("r1", "i2"), out("rX"), out("", "")]
    tally = JoinTally()
    cases = join_memory(exposures, outcomes, tally)
    assert [c.exposure.request_id for c in cases] == ["r1", "r2", "r3"]
    assert cases[0].exposure.items[0].item_id == "i1"  # the first r1, not the duplicate
    assert len(cases[0].outcomes) == 2
    dq = tally.result()
    ji = dq.join_integrity
    assert (ji.exposure_count, ji.outcome_count, ji.duplicate_exposure_request_ids) == (4, 4, 1)
    assert ji.exposure_join_rate == 1 / 4  # one kept exposure with outcomes / raw count
    assert ji.outcome_join_rate == 2 / 4  # the orphan rX and the empty one fail
    assert (ji.assignments_count, ji.assignment_join_rate) == (0, 0.0)
    assert (dq.exposure_completeness.missing, dq.exposure_completeness.total) == (1, 4)  # r2: []
    assert dq.outcome_completeness.missing == 1
    assert dq.outcome_completeness.missing_rate == 0.25


def test_no_attribution_window_an_earlier_outcome_still_joins() -> None:
    tally = JoinTally()
    early = Outcome("r1", "someone-else", "i7", "conversion", datetime(2020, 1, 1, tzinfo=UTC))
    cases = join_memory([exp("r1", "i1")], [early], tally)
    assert cases[0].outcomes == (early,)
    assert tally.result().join_integrity.outcome_join_rate == 1.0


def test_stream_join_counts_consecutive_duplicates_and_keeps_them_as_cases() -> None:
    exposures = [exp("r1", "i1"), exp("r1", "i2"), exp("r2", "i1")]
    outcomes = [out("r0"), out("r1"), out("r1"), out("r15"), out("r3")]
    tally = JoinTally()
    cases = list(join_sorted(exposures, outcomes, tally))
    # memory mode would give 2 cases; stream keeps the duplicate as an extra case without outcomes
    assert [(c.exposure.request_id, len(c.outcomes)) for c in cases] == [
        ("r1", 2),
        ("r1", 0),
        ("r2", 0),
    ]
    ji = tally.result().join_integrity
    assert ji.duplicate_exposure_request_ids == 1
    assert ji.outcome_count == 5  # orphans before, between and after are all counted
    assert ji.outcome_join_rate == 2 / 5
    assert ji.exposure_join_rate == 1 / 3


@pytest.mark.parametrize(
    ("exposures", "outcomes", "stream"),
    [
        (["r2", "r1"], [], "exposures"),
        (["r1", "r2"], ["r2", "r1"], "outcomes"),
        (["r1"], ["r1", "r3", "r2"], "outcomes"),  # found while draining after the last exposure
    ],
)
def test_stream_join_rejects_unsorted_input(
    exposures: list[str], outcomes: list[str], stream: str
) -> None:
    with pytest.raises(UnsortedInputError, match="must be sorted ascending") as caught:
        list(join_sorted([exp(r) for r in exposures], [out(r) for r in outcomes], JoinTally()))
    assert caught.value.stream == stream


request_ids = st.lists(st.sampled_from([f"r{i}" for i in range(8)]), max_size=12)


@settings(database=None)  # no example database inside the repo
@given(exposure_ids=st.sets(st.sampled_from([f"r{i}" for i in range(8)])), outcome_ids=request_ids)
def test_stream_join_equals_its_batch_twin_on_sorted_unique_input(
    exposure_ids: set[str], outcome_ids: list[str]
) -> None:
    exposures = [exp(r, "i1") for r in sorted(exposure_ids)]
    outcomes = [out(r) for r in sorted(outcome_ids)]
    memory_tally, stream_tally = JoinTally(), JoinTally()
    memory = join_memory(exposures, outcomes, memory_tally)
    stream = list(join_sorted(exposures, outcomes, stream_tally))
    assert memory == stream
    assert memory_tally.result() == stream_tally.result()


def test_time_split_filters_each_input_by_its_own_ts_inclusively() -> None:
    window = Window(T0, datetime(2025, 1, 31, tzinfo=UTC))
    records = [
        exp("in-start", ts=T0),
        exp("in-end", ts=datetime(2025, 1, 31, tzinfo=UTC)),
        exp("before", ts=datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)),
        exp("no-ts", ts=None),
    ]
    assert [r.request_id for r in within(records, window)] == ["in-start", "in-end"]


def test_assignment_join_rate_counts_assigned_exposures_over_unique_assignments() -> None:
    tally = JoinTally()
    join_memory([exp("r1", "i1")], [], tally)
    ji = tally.result(assignments_count=4, assigned_exposures=1).join_integrity
    assert (ji.assignments_count, ji.assignment_join_rate) == (4, 0.25)
