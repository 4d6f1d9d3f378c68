"""The soak bench's pure parts, with every expected number worked out by hand."""

from __future__ import annotations

import pytest

from bench.soak_stats import (
    HEADER,
    MIB,
    DeliveryCheck,
    Interval,
    TopicCheck,
    consumer_lag,
    cpu_seconds_of_stat,
    cpu_share,
    machine_line,
    memtotal_bytes,
    per_second,
    percentile,
    row,
    rss_line,
    summary_lines,
    total_lost,
    vmrss_bytes,
)


def test_percentile_is_the_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0]  # 1..10 shuffled
    assert percentile(values, 0.5) == 5.0  # ceil(0.5·10) = 5th smallest
    assert percentile(values, 0.99) == 10.0  # ceil(9.9) = 10th
    assert percentile(values, 0.9) == 9.0  # ceil(9.0) = 9th
    assert percentile(values, 0.0) == 1.0  # rank at least 1
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_percentile_of_100_values_p99_is_the_99th() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.99) == 99.0  # ceil(99.0) = 99th smallest, not the max
    assert percentile(values, 0.995) == 100.0  # ceil(99.5) = 100th


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_percentile_rejects_q_outside_0_1(q: float) -> None:
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        percentile([1.0], q)


def test_rates() -> None:
    assert per_second(1_000, 1_600, 20.0, 30.0) == 60.0  # 600 events in 10 s
    assert per_second(5, 5, 3.0, 3.0) == 0.0  # an empty interval
    assert cpu_share(12.0, 15.5, 100.0, 110.0) == pytest.approx(0.35)  # 3.5 CPU s in 10 s
    assert cpu_share(1.0, 2.0, 5.0, 5.0) == 0.0


def test_lag_sums_highwater_minus_committed_per_partition() -> None:
    highwaters = {"e0": 100, "e1": 50, "o0": 30, "a0": 7}
    committed = {"e0": 90, "e1": 50, "o0": -1}  # o0 never committed, a0 absent
    # (100 − 90) + (50 − 50) + (30 − 0) + (7 − 0) = 47
    assert consumer_lag(highwaters, committed) == 47
    # a commit ahead of a (stale) high-water mark counts 0, not −5
    assert consumer_lag({"e0": 10}, {"e0": 15}) == 0
    assert consumer_lag({"e0": 10}, {"e0": None}) == 10


def test_proc_parsing() -> None:
    status = "Name:\tpython\nVmPeak:\t  400000 kB\nVmRSS:\t  102400 kB\nThreads:\t5\n"
    assert vmrss_bytes(status) == 102_400 * 1024  # = 100 MiB
    assert vmrss_bytes(status) == 100 * MIB
    assert vmrss_bytes("Name:\tzombie\n") is None
    assert memtotal_bytes("MemTotal:       24684544 kB\nMemFree: 1 kB\n") == 24_684_544 * 1024
    # pid (comm with spaces) state ppid ... utime=field 14, stime=field 15
    stat = "42 (tansu broker) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0"
    assert cpu_seconds_of_stat(stat, 100) == 3.0  # (250 + 50) ticks / 100 per s


def test_topic_check_balances() -> None:
    ok = TopicCheck("recsys.exposures.v1", produced=1_000, seen=1_000, dead_lettered=3)
    assert (ok.consumed, ok.lost, ok.duplicated) == (997, 0, 0)
    assert ok.line().endswith("OK")
    assert "produced    1,000 == consumed      997 + dead-lettered    3" in ok.line()

    lost = TopicCheck("recsys.outcomes.v1", produced=500, seen=490, dead_lettered=0)
    assert (lost.lost, lost.duplicated) == (10, 0)  # 500 − (490 + 0)
    assert lost.line().endswith("LOST 10")

    twice = TopicCheck("recsys.assignments.v1", produced=20, seen=23, dead_lettered=1)
    assert (twice.consumed, twice.lost, twice.duplicated) == (22, 0, 3)  # 22 + 1 − 20
    assert twice.line().endswith("OK (counted 3 twice)")
    assert total_lost([ok, lost, twice]) == 10


def test_delivery_check() -> None:
    ok = DeliveryCheck("sink", acked=2_388, on_topics=2_388, failed=0)
    assert ok.lost == 0 and ok.line().endswith("OK")
    missing = DeliveryCheck("sink", acked=100, on_topics=97, failed=2)
    assert missing.lost == 5  # 2 failed + (100 − 97) acknowledged but not on the topics
    assert missing.line().endswith("LOST 5")
    extra = DeliveryCheck("sim", acked=10, on_topics=12, failed=0)
    assert extra.lost == 0
    assert extra.line().endswith("OK (2 more on the topics than acknowledged)")


def test_row_lines_up_with_the_header() -> None:
    sample = Interval(elapsed_s=60.2, events_per_s=55.44, requests_per_s=20.0, p50_ms=2.26,
                      p99_ms=None, lag=1_234, rss_self=107 * MIB, rss_broker=52 * MIB,
                      cpu_self=0.4, cpu_broker=0.08, load1=1.5)
    line = row(sample)
    assert len(line) == len(HEADER)
    assert line.split() == ["60s", "55.4", "20.0", "2.3", "-", "1,234", "107", "52", "40%",
                            "8%", "1.50"]


def test_rss_and_machine_lines() -> None:
    line = rss_line("broker", [18 * MIB, 60 * MIB, 52 * MIB])
    assert line == ("RSS broker : start 18 MiB, end 52 MiB, max 60 MiB "
                    "(end − start +34 MiB)")
    assert rss_line("broker", []) == "RSS broker: no samples"
    assert machine_line(2, 24 * 1024**3, "3.11.7") == (
        "machine: 2 cores, 24.0 GiB RAM, Python 3.11.7")
    assert machine_line(None, None, "3.12.0") == "machine: ? cores, ? RAM, Python 3.12.0"


def test_summary_lines() -> None:
    lines = summary_lines(
        events={"exposures": 600, "outcomes": 300, "assignments": 100},
        seconds=50.0,
        latencies_ms=[float(n) for n in range(100, 0, -1)],  # 100 … 1 ms
        lags=[10, 30, 20],
        rss_self=[80 * MIB, 100 * MIB],
        rss_broker=[20 * MIB, 70 * MIB],
    )
    assert lines == [
        # 1,000 events / 50 s = 20 events/s
        "events (exposures + outcomes + assignments): 1,000 in 50s = 20.0 events/s "
        "(exposures 600, outcomes 300, assignments 100)",
        # ranks ceil(0.5·100) = 50 and ceil(0.99·100) = 99 of 1 … 100
        "recommend latency overall (n=100, status 200): p50 50.0 ms, p99 99.0 ms, "
        "max 100.0 ms",
        "max consumer lag 30 records (mean 20 over 3 samples)",  # (10 + 30 + 20) / 3
        "RSS process: start 80 MiB, end 100 MiB, max 100 MiB (end − start +20 MiB)",
        "RSS broker : start 20 MiB, end 70 MiB, max 70 MiB (end − start +50 MiB)",
    ]
