"""A pure simulation of the three-stage topology: logs, partitions, at-least-once.

It routes records exactly as the Faust topology does (by key, into partitioned logs),
runs the same stage functions on plain dicts, and can redeliver records and duplicate
derived records the way a crash does.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

import orjson

from schemas.events import Event, Exposure, Outcome
from streams.decay import Decayed
from streams.history import UserState
from streams.keys import split_key
from streams.messages import Derived, EngagementMsg, PairMsg, PopularityMsg, virtual_offset
from streams.pair_store import PairMap
from streams.stages import (
    RequestStage,
    item_stage,
    parse_item_key,
    user_stage,
)
from streams.state_config import StateConfig
from streams.state_json import state_json


def partition_of(key: str, n: int) -> int:
    return zlib.crc32(key.encode()) % n


@dataclass
class Log:
    records: list[object] = field(default_factory=list)
    position: int = 0

    def pending(self) -> bool:
        return self.position < len(self.records)


@dataclass
class Simulation:
    config: StateConfig
    partitions: int = 3
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    redeliver: float = 0.0
    duplicate: float = 0.0
    logs: dict[tuple[str, int], Log] = field(default_factory=dict)
    request_table: dict[str, object] = field(default_factory=dict)
    user_table: dict[str, object] = field(default_factory=dict)
    item_table: PairMap = field(default_factory=PairMap)  # what the worker stores

    def __post_init__(self) -> None:
        self.request = RequestStage(self.config)

    def log(self, topic: str, partition: int) -> Log:
        return self.logs.setdefault((topic, partition), Log())

    def append(self, topic: str, key: str, record: object) -> None:
        self.log(topic, partition_of(key, self.partitions)).records.append(record)

    def feed(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Exposure):
                self.append("exp", e.request_id, e)
            elif isinstance(e, Outcome):
                self.append("out", e.request_id, e)

    def _process(self, topic: str, partition: int, offset: int, record: object) -> None:
        if topic == "exp":
            assert isinstance(record, Exposure)
            out = self.request.on_exposure(self.request_table, partition, offset, record)
        elif topic == "out":
            assert isinstance(record, Outcome)
            out = self.request.on_outcome(self.request_table, partition, offset, record)
        elif topic == "tick":
            assert isinstance(record, int)
            out = self.request.on_tick(self.request_table, partition, offset, record)
        elif topic == "eng":
            assert isinstance(record, list)  # an envelope, as the agents send them
            out = []
            for i, eng in enumerate(record):
                assert isinstance(eng, EngagementMsg)
                o = virtual_offset(offset, i)
                out += user_stage(self.user_table, partition, o, eng, self.config)
        else:
            assert isinstance(record, list)
            for i, upd in enumerate(record):
                assert isinstance(upd, PopularityMsg | PairMsg)
                item_stage(self.item_table, partition, virtual_offset(offset, i), upd, self.config)
            out = []
        envelopes: dict[tuple[str, int], list[Derived]] = {}
        for msg in out:
            target = "eng" if isinstance(msg, EngagementMsg) else "item"
            envelopes.setdefault((target, partition_of(msg.key, self.partitions)), []).append(msg)
        for (target, p), msgs in envelopes.items():
            self.log(target, p).records.append(msgs)
            if self.rng.random() < self.duplicate:
                # Re-emitted after a "crash", regrouped: a suffix in a new envelope.
                self.log(target, p).records.append(msgs[self.rng.randrange(len(msgs)) :])

    def step(self) -> bool:
        live = [k for k, log in self.logs.items() if log.pending()]
        if not live:
            return False
        topic, partition = self.rng.choice(sorted(live))
        log = self.logs[(topic, partition)]
        offset = log.position
        self._process(topic, partition, offset, log.records[offset])
        log.position += 1
        if self.redeliver and self.rng.random() < self.redeliver:
            back = self.rng.randint(0, offset)  # consumer restarts from an older commit
            for o in range(back, offset + 1):
                self._process(topic, partition, o, log.records[o])
        return True

    def run(self, final_tick_ms: int | None = None) -> None:
        while self.step():
            pass
        if final_tick_ms is not None:
            for p in range(self.partitions):
                self.log("tick", p).records.append(final_tick_ms)
            while self.step():
                pass

    # --- what the views would show -------------------------------------------------

    def popularity(self) -> dict[tuple[str, str, str], Decayed]:
        out = {}
        for key, value in self.item_table.items():
            parsed = parse_item_key(key)
            if parsed and parsed[0] == "p":
                t, s, i = parsed[1]
                v = value
                assert isinstance(v, list)
                out[(t, s, i)] = Decayed(v[0], v[1])
        return out

    def pair_counts(self) -> dict[tuple[str, str, str, str], int]:
        out = {}
        for key, value in self.item_table.items():
            parsed = parse_item_key(key)
            if parsed and parsed[0] == "c":
                t, s, a, b = parsed[1]
                assert isinstance(value, list)
                out[(t, s, a, b)] = value[0]
        return out

    def history(self) -> dict[tuple[str, str], tuple[tuple[str, int], ...]]:
        out = {}
        for key, value in self.user_table.items():
            t, u = split_key(key)
            doc = orjson.loads(state_json(value))  # through the changelog's format
            out[(t, u)] = UserState.from_json(doc).recent
        return out
