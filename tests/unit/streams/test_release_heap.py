"""The request stage releases parked outcomes from a heap; the result must be exactly what
the former scan of every parked entry per event gave, for any arrival order and grace."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, Exposure, Outcome
from streams.history import HistoryConfig
from streams.popularity import PopularityConfig
from streams.stages import RequestStage
from streams.state_config import StateConfig
from tests.unit.streams.test_state_twin import event_lists


@dataclass
class ScanStage(RequestStage):
    """The former release: every parked entry scanned on every event."""

    def _advance(self, table: Any, partition: int, t_ms: int, em: Any) -> None:
        mark = max(self.watermark.get(partition, t_ms), t_ms)
        self.watermark[partition] = mark
        limit = mark - self.config.grace_ms
        due = sorted(r for r, (t, _) in self.parked.get(partition, {}).items() if t < limit)
        self._release(table, partition, due, em)


def config(grace_ms: int) -> StateConfig:
    return StateConfig(
        popularity=PopularityConfig(half_life_days=0.5, weights={"shown": 0.25, "click": 1}),
        history=HistoryConfig(history_n=5, session_ms=30 * 60_000),
        grace_ms=grace_ms,
    )


def run(stage: RequestStage, events: list[Event]) -> tuple[list[Any], dict[str, Any]]:
    table: dict[str, Any] = {}
    out: list[Any] = []
    for offset, e in enumerate(events):
        if isinstance(e, Exposure):
            out.append(stage.on_exposure(table, 0, offset, e))
        elif isinstance(e, Outcome):
            out.append(stage.on_outcome(table, 0, offset, e, wall_ms=offset))
        if offset % 7 == 6:  # wall-clock ticks release from the same parked set
            out.append(stage.on_tick(table, 0, offset, now_ms=offset + 10**9 * (offset % 2)))
    return out, table


@settings(max_examples=200, deadline=None)
@given(
    events=event_lists(),
    seed=st.integers(0, 2**32 - 1),
    grace_ms=st.sampled_from([0, 60_000, 1_800_000, 7_200_000]),
)
def test_heap_release_equals_the_scan(events: list[Event], seed: int, grace_ms: int) -> None:
    random.Random(seed).shuffle(events)
    cfg = config(grace_ms)
    assert run(RequestStage(cfg), events) == run(ScanStage(cfg), events)
