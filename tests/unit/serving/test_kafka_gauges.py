"""Dead letters and consumer lag: the arithmetic, the failure handling, the overview."""

from __future__ import annotations

import logging

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from schemas import topics
from serving.kafka_gauges import (
    GaugeValues,
    KafkaGauges,
    Offsets,
    WarnEvery,
    consumer_lag,
    dead_letter_count,
    gauge_values,
)
from serving.live_reader import LiveReader, Merged, overview

EXP0, EXP1 = TopicPartition(topics.EXPOSURES, 0), TopicPartition(topics.EXPOSURES, 1)
OUT0 = TopicPartition(topics.OUTCOMES, 0)
DLQ0, DLQ1 = TopicPartition(topics.DEADLETTER, 0), TopicPartition(topics.DEADLETTER, 1)


@pytest.mark.parametrize(
    ("high", "start", "committed", "lag"),
    [
        ({}, {}, {}, 0),
        # committed at the end: nothing left
        ({"a": 10}, {"a": 0}, {"a": 10}, 0),
        # 10 − 4 = 6
        ({"a": 10}, {"a": 0}, {"a": 4}, 6),
        # no commit: counts from the log start, 10 − 3 = 7
        ({"a": 10}, {"a": 3}, {"a": None}, 7),
        # partition missing from the committed map = no commit: 5 − 0
        ({"a": 5}, {"a": 0}, {}, 5),
        # commit below the log start (records deleted): the worker resumes at 3, 10 − 3 = 7
        ({"a": 10}, {"a": 3}, {"a": 1}, 7),
        # a high-water mark read before the commit: clamped at 0, never negative
        ({"a": 10}, {"a": 0}, {"a": 12}, 0),
        # summed: (10 − 4) + (7 − 2) + (3 − 0) + 0 = 14
        ({"a": 10, "b": 7, "c": 3, "d": 0},
         {"a": 0, "b": 2, "c": 0, "d": 0},
         {"a": 4, "b": None, "c": 0, "d": None}, 14),
    ],
)
def test_consumer_lag(high: dict, start: dict, committed: dict, lag: int) -> None:
    assert consumer_lag(high, start, committed) == lag


def test_consumer_lag_only_counts_partitions_with_a_high_water_mark() -> None:
    # "b" has a commit but no high-water mark in this reading: it is not counted
    assert consumer_lag({"a": 4}, {"a": 0, "b": 0}, {"a": 1, "b": 0}) == 3


@pytest.mark.parametrize(
    ("high", "count"),
    [({}, 0), ({"p0": 0, "p1": 0}, 0), ({"p0": 2}, 2), ({"p0": 1, "p1": 1, "p2": 5}, 7)],
)
def test_dead_letter_count(high: dict, count: int) -> None:
    assert dead_letter_count(high) == count


def test_gauge_values_of_one_reading() -> None:
    offsets = Offsets(
        high={EXP0: 5, EXP1: 3, OUT0: 2},
        log_start={EXP0: 0, EXP1: 0, OUT0: 0},
        committed={EXP0: 5, EXP1: 1, OUT0: None},
        dead_letter_high={DLQ0: 1, DLQ1: 1},
    )
    # lag: (5 − 5) + (3 − 1) + (2 − 0) = 4; dead letters: 1 + 1 = 2
    assert gauge_values(offsets) == GaugeValues(dead_letters=2, lag_records=4)


def test_warn_every_lets_one_through_per_period() -> None:
    warn = WarnEvery(60.0)
    assert [warn.due(t) for t in (0.0, 1.0, 59.9, 60.0, 61.0, 125.0)] == [
        True, False, False, True, False, True,
    ]


class ScriptedGauges(KafkaGauges):
    """``KafkaGauges`` whose broker readings come from a list (an Exception = a failure)."""

    def __init__(self, readings: list[Offsets | Exception], clock: list[float]) -> None:
        super().__init__("127.0.0.1:1", "app", clock=lambda: clock[0])
        self.script = readings

    async def read_offsets(self) -> Offsets:
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _reading(dead: int, lag: int) -> Offsets:
    return Offsets({EXP0: lag}, {EXP0: 0}, {EXP0: None}, {DLQ0: dead})


async def test_a_failed_reading_keeps_the_values_and_warns_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    down = KafkaConnectionError("broker down")
    gauges = ScriptedGauges([_reading(2, 7), down, down, down, _reading(3, 0)], now)
    caplog.set_level(logging.INFO, logger="serving.kafka_gauges")

    await gauges.tick()
    assert (gauges.dead_letters, gauges.lag_records, gauges.failing) == (2, 7, False)
    for t in (2.0, 4.0, 62.0):  # three failures: warned at 2 s and again at 62 s
        now[0] = t
        await gauges.tick()
        assert (gauges.dead_letters, gauges.lag_records, gauges.failing) == (2, 7, True)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "keeping dead_letters=2, lag_records=7" in warnings[0].getMessage()
    assert not warnings[0].exc_info  # an expected broker error: no traceback

    now[0] = 64.0
    await gauges.tick()
    assert (gauges.dead_letters, gauges.lag_records, gauges.failing) == (3, 0, False)
    assert gauges.readings == 2


async def test_an_unexpected_error_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gauges = ScriptedGauges([ValueError("bug")], [0.0])
    await gauges.tick()
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.exc_info is not None and gauges.values == GaugeValues()


class FixedGauges:
    dead_letters = 4
    lag_records = 9


def test_overview_reports_the_gauges() -> None:
    reader = LiveReader("127.0.0.1:1", gauges=FixedGauges())
    doc = reader.overview()
    assert (doc["dead_letters"], doc["lag_records"]) == (4, 9)
    # the stream's numbers as a whole, also in a tenant's overview
    assert (reader.overview("t1")["dead_letters"], reader.overview("t1")["lag_records"]) == (4, 9)


def test_overview_without_gauges_reports_zero() -> None:
    doc = LiveReader("127.0.0.1:1").overview()
    assert (doc["dead_letters"], doc["lag_records"]) == (0, 0)
    assert overview(Merged())["dead_letters"] == 0
