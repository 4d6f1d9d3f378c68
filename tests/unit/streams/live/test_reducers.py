"""The live join's reducers on hand-made events, with hand-derived expectations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import fastavro.validation
import orjson

from schemas.events import Assignment, Exposure, ExposureItem, Outcome
from schemas.registry import LocalRegistry
from schemas.timestamps import ms_to_rfc3339
from serving.live_reader import default_experiment_config, experiment, merge_snapshots, overview
from streams.live.config import LiveConfig
from streams.live.joined import decode_joined, encode_joined
from streams.live.partition import (
    ASSIGNMENT,
    EXPOSURE,
    OUTCOME,
    LiveJoin,
    changelog_order,
)
from streams.live.request import RequestState
from streams.state_json import state_json

T0 = 1_767_225_600_000
CFG = LiveConfig(grace_ms=300_000, attribution_window_ms=3_600_000)


def exposure(rid: str, t: int, **ctx: str) -> Exposure:
    context = {"tenant": "t1", "surface": "home", **ctx}
    items = (ExposureItem("a", 1), ExposureItem("b", 2))
    return Exposure(rid, "u1", ms_to_rfc3339(T0 + t), items, context, 10.0)


def outcome(rid: str, t: int, item: str = "a", kind: str = "click", value: float | None = None):
    return Outcome(rid, "u1", item, kind, ms_to_rfc3339(T0 + t), value)


def assignment(rid: str, variant: str, t: int = 0, exp: str = "E1") -> Assignment:
    return Assignment(exp, variant, rid, "u1", ms_to_rfc3339(T0 + t), {"tenant": "t1"})


class Run:
    def __init__(self, config: LiveConfig = CFG) -> None:
        self.join = LiveJoin(config)
        self.table: dict[str, Any] = {}
        self.offsets = {EXPOSURE: 0, OUTCOME: 0, ASSIGNMENT: 0}
        self.joined: list[Any] = []

    def send(self, *events: Any) -> Run:
        for e in events:
            topic = (
                EXPOSURE
                if isinstance(e, Exposure)
                else OUTCOME
                if isinstance(e, Outcome)
                else ASSIGNMENT
            )
            self.joined += self.join.apply(self.table, 0, topic, self.offsets[topic], e)
            self.offsets[topic] += 1
        return self

    def overview(self) -> dict[str, Any]:
        return overview(merge_snapshots([self.join.snapshot_doc(self.table, 0, 0)]))

    def experiment(self, exp: str = "E1") -> dict[str, Any] | None:
        merged = merge_snapshots([self.join.snapshot_doc(self.table, 0, 0)])
        return experiment(merged, exp, default_experiment_config())


def test_outcome_before_its_exposure_within_the_grace_is_joined() -> None:
    run = Run().send(outcome("r1", 1_000), exposure("r1", 0))
    totals = run.overview()["totals"]
    assert (totals["outcomes"], totals["outcome_join_rate"], totals["orphans"]) == (1, 1.0, 0)
    assert totals["exposure_join_rate"] == 1.0
    assert [j.outcome.item_id for j in run.joined] == ["a"]
    assert run.joined[0].shown.rank_of("a") == 1


def test_outcome_without_exposure_after_the_grace_is_an_orphan() -> None:
    run = Run().send(outcome("r1", 0))
    assert run.overview()["totals"]["orphans"] == 0  # still waiting
    run.send(exposure("r2", 300_001))  # event time moves past r1's outcome + grace
    totals = run.overview()["totals"]
    assert (totals["orphans"], totals["outcomes"], totals["outcome_join_rate"]) == (1, 1, 0.0)
    ns = {(n["tenant"], n["surface"]): n for n in run.overview()["namespaces"]}
    assert ns[("default", "default")]["orphans"] == 1
    run.send(exposure("r1", 300_002))  # too late: an orphan stays an orphan
    assert run.overview()["totals"]["outcome_join_rate"] == 0.0 and not run.joined


def test_wall_clock_tick_releases_outcomes_of_an_idle_partition() -> None:
    run = Run()
    run.join.apply(run.table, 0, OUTCOME, 0, outcome("r1", 0), wall_ms=1_000)
    run.join.on_tick(run.table, 0, 1_000 + CFG.grace_wall_ms - 1)
    assert run.overview()["totals"]["orphans"] == 0
    run.join.on_tick(run.table, 0, 1_000 + CFG.grace_wall_ms + 1)
    assert run.overview()["totals"]["orphans"] == 1


def test_outcome_outside_the_attribution_window_is_not_joined() -> None:
    run = Run().send(exposure("r1", 0), outcome("r1", 3_600_001), outcome("r1", 3_600_000))
    totals = run.overview()["totals"]
    assert (totals["outcomes"], totals["orphans"], totals["outcome_join_rate"]) == (2, 1, 0.5)


def test_repeated_request_id_is_a_duplicate_and_joins_once() -> None:
    run = Run().send(
        exposure("r1", 0),
        exposure("r1", 1_000, surface="pdp"),
        outcome("r1", 2_000),
    )
    totals = run.overview()["totals"]
    assert (totals["exposures"], totals["duplicates"], totals["outcomes"]) == (2, 1, 1)
    assert totals["exposure_join_rate"] == 0.5  # 1 kept with outcome / 2 raw exposures
    ns = {(n["tenant"], n["surface"]): n for n in run.overview()["namespaces"]}
    assert ns[("t1", "pdp")]["duplicates"] == 1 and ns[("t1", "pdp")]["outcomes"] == 0
    assert len(run.joined) == 1 and run.joined[0].shown.surface == "home"  # first wins


def test_assignment_overrides_the_context_variant_and_later_records_win() -> None:
    run = Run().send(exposure("r1", 0, experiment_id="E1", experiment_variant="ctx"))
    doc = run.experiment()
    assert doc is not None and [v["variant"] for v in doc["variants"]] == ["ctx"]
    run.send(assignment("r1", "A"), outcome("r1", 10))
    doc = run.experiment()
    assert doc is not None and [(v["variant"], v["clicks"]) for v in doc["variants"]] == [("A", 1)]
    run.send(assignment("r1", "B", 20))  # a later record overwrites; SRM counts both
    doc = run.experiment()
    assert doc is not None and [v["variant"] for v in doc["variants"]] == ["B"]
    assert doc["srm"]["observed"] == {"A": 1, "B": 1}
    # the one exposure and its click moved with the arm
    assert (doc["variants"][0]["exposures"], doc["variants"][0]["clicks"]) == (1, 1)


def test_a_preview_variant_the_client_chose_counts_in_no_arm() -> None:
    run = Run().send(exposure("r1", 0, experiment_id="E1", experiment_variant="Z",
                              experiment_preview="true"), outcome("r1", 5))
    run.send(exposure("r2", 0, experiment_id="E1", experiment_variant="A"), outcome("r2", 5))
    doc = run.experiment()
    assert doc is not None
    assert [(v["variant"], v["clicks"]) for v in doc["variants"]] == [("A", 1)]


def test_context_fallback_can_be_turned_off_for_strict_parity() -> None:
    run = Run(LiveConfig(context_variant_fallback=False))
    run.send(exposure("r1", 0, experiment_id="E1", experiment_variant="ctx"))
    assert run.experiment() is None


def test_redelivered_records_are_not_counted_twice() -> None:
    run = Run()
    e, o = exposure("r1", 0), outcome("r1", 5, kind="conversion", value=2.5)
    for _ in range(2):  # the same offsets again, as after a crash
        run.join.apply(run.table, 0, EXPOSURE, 0, e)
        run.join.apply(run.table, 0, OUTCOME, 0, o)
        run.join.apply(run.table, 0, ASSIGNMENT, 0, assignment("r1", "A"))
    doc = run.experiment()
    assert doc is not None and doc["variants"][0]["revenue"] == 2.5
    assert run.overview()["totals"]["outcomes"] == 1


def test_rebuild_from_the_table_gives_the_same_tally_and_expiry_keeps_it() -> None:
    run = Run().send(exposure("r1", 0), assignment("r1", "A"), outcome("r1", 5), outcome("zz", 6))
    before = run.join.snapshot_doc(run.table, 0, 0)
    fresh = LiveJoin(CFG)
    fresh.rebuild(run.table, {0}, 0)
    assert fresh.snapshot_doc(run.table, 0, 0) == before
    # far later: r1 and the orphan request expire into the retired tally
    run.send(exposure("r9", 3 * 3_600_000))
    run.join.on_tick(run.table, 0, 0)
    assert not any(k.endswith("r1") for k in run.table)
    after = run.overview()["totals"]
    assert (after["exposures"], after["outcomes"], after["orphans"]) == (2, 2, 1)
    again = LiveJoin(CFG)
    again.rebuild(run.table, {0}, 0)
    assert again.snapshot_doc(run.table, 0, 0) == run.join.snapshot_doc(run.table, 0, 0)


def test_joined_record_round_trips_through_avro() -> None:
    run = Run().send(
        exposure("r1", 0, algo_version="v7", segment="s"), assignment("r1", "A"), outcome("r1", 1)
    )
    record = decode_joined(encode_joined(run.joined[0], LocalRegistry()))
    assert record["rank"] == 1 and record["algo_version"] == "v7" and record["segment"] == "s"
    assert (record["experiment_id"], record["experiment_variant"]) == ("e1", "A")
    assert record["exposure_ts"] == ms_to_rfc3339(T0) and record["value"] is None


def test_a_rank_beyond_32_bits_is_joined_as_the_exposure_long_it_is() -> None:
    rank = 2**31  # valid in exposure.v1 (an Avro long); joined.v1 once declared an int
    shown = Exposure("r1", "u1", ms_to_rfc3339(T0), (ExposureItem("a", rank),),
                     {"tenant": "t1", "surface": "home"}, 10.0)
    run = Run().send(shown, outcome("r1", 1))
    record = decode_joined(encode_joined(run.joined[0], LocalRegistry()))
    assert record["rank"] == rank
    schema = orjson.loads((Path(__file__).parents[4] / "schemas/avro/joined.v1.avsc").read_bytes())
    assert fastavro.validation.validate(record, fastavro.parse_schema(schema))


def test_table_values_recovered_from_their_changelog_json_give_the_same_tally() -> None:
    run = Run().send(
        exposure("r1", 0, device="m"),
        assignment("r1", "A"),
        outcome("r1", 5, kind="conversion", value=2.25),
        outcome("zz", 6),
        exposure("r1", 7, surface="pdp"),
    )
    recovered = {k: orjson.loads(state_json(v)) for k, v in run.table.items()}
    assert all(isinstance(v[0], list) for v in recovered.values())
    assert {k: RequestState.of(v[0]) for k, v in recovered.items()} == {
        k: v[0] for k, v in run.table.items()
    }
    fresh = LiveJoin(CFG)
    fresh.rebuild(recovered, {0}, 0)
    assert fresh.snapshot_doc(recovered, 0, 0) == run.join.snapshot_doc(run.table, 0, 0)
    # and the join goes on from the JSON form
    run.send(outcome("r1", 8))
    fresh.apply(recovered, 0, OUTCOME, run.offsets[OUTCOME] - 1, outcome("r1", 8))
    assert fresh.snapshot_doc(recovered, 0, 0) == run.join.snapshot_doc(run.table, 0, 0)


def test_changelog_order_writes_retired_accumulators_before_the_deletes() -> None:
    writes = [("0\x1fr1", 0, None), ("0\x1f\x1fretired", 0, [{}, ["r1"]]), ("0\x1fr2", 0, [1])]
    assert [w[0] for w in changelog_order(writes)] == ["0\x1f\x1fretired", "0\x1fr1", "0\x1fr2"]
