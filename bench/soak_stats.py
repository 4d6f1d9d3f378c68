"""Pure parts of the soak bench (``bench/soak.py``): percentiles, rates, lag, the lost
check, /proc parsing and the printed lines. Values in, values out; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")
MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: the ``ceil(q·n)``-th smallest value (1-based), the
    smallest for q = 0; ``None`` for no values (Hyndman & Fan 1996, definition 1)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], not {q}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q * len(ordered)), 1)
    return ordered[rank - 1]


def per_second(before: int, after: int, t0: float, t1: float) -> float:
    """(after − before) / (t1 − t0); 0 for an empty interval."""
    if t1 <= t0:
        return 0.0
    return (after - before) / (t1 - t0)


def cpu_share(cpu_before: float, cpu_after: float, t0: float, t1: float) -> float:
    """CPU seconds per wall second over an interval (1.0 = one core busy)."""
    if t1 <= t0:
        return 0.0
    return (cpu_after - cpu_before) / (t1 - t0)


def consumer_lag(highwaters: Mapping[K, int], committed: Mapping[K, int | None]) -> int:
    """Σ over partitions of max(high-water − committed, 0); a partition without a
    committed offset (None or < 0) counts from offset 0 (the group reads from earliest)."""
    total = 0
    for tp, hw in highwaters.items():
        done = committed.get(tp)
        total += max(hw - (done if done is not None and done >= 0 else 0), 0)
    return total


def vmrss_bytes(status: str) -> int | None:
    """The ``VmRSS`` of a /proc/<pid>/status text, in bytes (the kernel writes kB)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def memtotal_bytes(meminfo: str) -> int | None:
    """``MemTotal`` of a /proc/meminfo text, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def cpu_seconds_of_stat(stat: str, ticks_per_s: int) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line (fields 14 and 15; the
    command name in parentheses may contain spaces, so split after the last ')')."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


@dataclass(frozen=True)
class TopicCheck:
    """One input topic at the end: produced == consumed + dead-lettered?

    ``produced``: records on the topic (offset 0 to the fetch high-water mark, which the
    producers' acknowledgement counters are checked against separately); ``seen``: the
    stream worker's processed counter (every record its agent took, dead-lettered ones
    included); ``dead_lettered``: records on the dead-letter topic from this topic.
    """

    topic: str
    produced: int
    seen: int
    dead_lettered: int

    @property
    def consumed(self) -> int:
        """Records the worker decoded (seen, less those it dead-lettered)."""
        return self.seen - self.dead_lettered

    @property
    def lost(self) -> int:
        return max(self.produced - self.consumed - self.dead_lettered, 0)

    @property
    def duplicated(self) -> int:
        """Records counted more than once (redelivery after a rebalance): not a loss."""
        return max(self.consumed + self.dead_lettered - self.produced, 0)

    def line(self) -> str:
        verdict = f"LOST {self.lost}" if self.lost else "OK"
        if self.duplicated:
            verdict += f" (counted {self.duplicated} twice)"
        return (f"{self.topic:<24} produced {self.produced:>8,} == consumed "
                f"{self.consumed:>8,} + dead-lettered {self.dead_lettered:>4,}   {verdict}")


def total_lost(checks: Iterable[TopicCheck]) -> int:
    return sum(c.lost for c in checks)


@dataclass(frozen=True)
class Interval:
    """One printed sample of the soak."""

    elapsed_s: float
    events_per_s: float
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    lag: int
    rss_self: int
    rss_broker: int
    cpu_self: float
    cpu_broker: float
    load1: float


HEADER = (f"{'elapsed':>7} {'ev/s':>7} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'lag':>6} "
          f"{'RSS MiB':>8} {'broker MiB':>10} {'CPU':>5} {'broker CPU':>10} {'load1':>5}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def row(s: Interval) -> str:
    """One line under ``HEADER``; CPU is core-seconds per second (100 % = one core)."""
    return (f"{s.elapsed_s:>6.0f}s {s.events_per_s:>7.1f} {s.requests_per_s:>6.1f} "
            f"{_ms(s.p50_ms):>7} {_ms(s.p99_ms):>7} {s.lag:>6,} "
            f"{s.rss_self / MIB:>8.0f} {s.rss_broker / MIB:>10.0f} "
            f"{s.cpu_self:>5.0%} {s.cpu_broker:>10.0%} {s.load1:>5.2f}")


def rss_line(name: str, samples: Sequence[int]) -> str:
    """Start, end and max of RSS samples in MiB, and the end − start growth."""
    if not samples:
        return f"RSS {name}: no samples"
    start, end, peak = samples[0], samples[-1], max(samples)
    return (f"RSS {name:<7}: start {start / MIB:,.0f} MiB, end {end / MIB:,.0f} MiB, "
            f"max {peak / MIB:,.0f} MiB (end − start {(end - start) / MIB:+,.0f} MiB)")


def machine_line(cores: int | None, memtotal: int | None, python: str) -> str:
    mem = "?" if memtotal is None else f"{memtotal / 1024**3:.1f} GiB"
    return f"machine: {cores or '?'} cores, {mem} RAM, Python {python}"


@dataclass(frozen=True)
class DeliveryCheck:
    """A producer's acknowledged records against the records on its topics.

    ``failed`` counts records it dropped or could not deliver; acknowledged records
    missing from the topics are lost too. More on the topics than acknowledged means
    another writer (or a count not yet settled): reported, not a loss."""

    name: str
    acked: int
    on_topics: int
    failed: int

    @property
    def lost(self) -> int:
        return self.failed + max(self.acked - self.on_topics, 0)

    def line(self) -> str:
        verdict = f"LOST {self.lost}" if self.lost else "OK"
        if self.on_topics > self.acked:
            verdict += f" ({self.on_topics - self.acked} more on the topics than acknowledged)"
        return (f"{self.name}: acknowledged {self.acked:,}, on the topics {self.on_topics:,}, "
                f"dropped or failed {self.failed:,}   {verdict}")


def summary_lines(*, events: Mapping[str, int], seconds: float, latencies_ms: Sequence[float],
                  lags: Sequence[int], rss_self: Sequence[int],
                  rss_broker: Sequence[int]) -> list[str]:
    """The final summary: events (by topic) and their mean rate, overall recommend
    latency, the largest sampled lag, RSS of both processes."""
    total = sum(events.values())
    split = ", ".join(f"{name} {n:,}" for name, n in events.items())
    p50, p99 = percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99)
    return [
        f"events ({' + '.join(events)}): {total:,} in {seconds:.0f}s = "
        f"{per_second(0, total, 0.0, seconds):.1f} events/s ({split})",
        f"recommend latency overall (n={len(latencies_ms):,}, status 200): p50 "
        f"{p50 or 0:.1f} ms, p99 {p99 or 0:.1f} ms, max {max(latencies_ms, default=0):.1f} ms",
        f"max consumer lag {max(lags, default=0):,} records (mean "
        f"{sum(lags) / max(len(lags), 1):,.0f} over {len(lags)} samples)",
        rss_line("process", rss_self),
        rss_line("broker", rss_broker),
    ]
