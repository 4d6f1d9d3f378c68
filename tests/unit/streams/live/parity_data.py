"""A seeded event log with late outcomes, orphans, duplicates and reassignments, written as
JSONL for ``recsys-eval`` and kept in arrival order for the live join (shared by the
unit parity test and the integration test)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.cli import main as eval_main
from schemas.events import Assignment, Exposure, ExposureItem, Outcome
from schemas.timestamps import ms_to_rfc3339
from streams.live.config import LiveConfig

EXPERIMENT = "exp1"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
CONFIG_YAML = """\
mode: experiment
experiment:
  experiment_id: exp1
  control_variant: control
  primary_metrics: [ctr]
  slice_keys: [device]
  guardrails: {max_latency_p95_ms: 120, max_error_rate: 0.05, max_empty_rate: 0.1}
  srm: {enabled: true, slice_keys: [tenant_id]}
  multiple_comparisons: {method: fdr_bh, alpha: 0.05}
"""
LIVE_CONFIG = LiveConfig(
    slice_keys=("device",), srm_slice_keys=("tenant_id",), context_variant_fallback=False
)


@dataclass
class Log:
    arrival: list[Exposure | Outcome | Assignment]
    """Every event in the order a producer sends them."""

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.arrival if isinstance(e, kind)]


def generate(rng: random.Random, requests: int = 600, spacing_ms: int = 1000) -> Log:
    """Requests one ``spacing_ms`` apart; each exposure reaches Kafka 0–60 s late, its
    outcomes on time, so many outcomes arrive before their exposure (within the grace)."""
    timed: list[tuple[int, int, Exposure | Outcome | Assignment]] = []
    seq = 0

    def at(t: int, e: Exposure | Outcome | Assignment) -> None:
        nonlocal seq
        timed.append((t, seq, e))
        seq += 1

    for n in range(requests):
        rid = f"r{n:05d}"
        t = START_MS + n * spacing_ms
        tenant = rng.choice(["t1", "t2"])
        surface = rng.choice(["home", "pdp"])
        device = rng.choice(["mobile", "desktop"])
        variant = "treatment" if rng.random() < 0.45 else "control"
        k = 0 if rng.random() < 0.05 else rng.randint(1, 5)
        items = tuple(ExposureItem(f"i{rng.randint(0, 40)}", r) for r in range(1, k + 1))
        ctx = {"tenant_id": tenant, "surface": surface, "device": device}
        latency = float(rng.choice([20, 35, 50, 80, 110, 150])) + rng.choice([0.0, 0.5])
        exposure = Exposure(
            rid,
            f"u{rng.randint(0, 99)}",
            ms_to_rfc3339(t),
            items,
            ctx,
            latency,
            rng.random() < 0.03,
        )
        delay = rng.choice([0, 0, 0, 5_000, 30_000, 60_000])
        at(t + delay, exposure)
        if rng.random() < 0.04:  # a repeated exposure (another surface): a duplicate
            dup = Exposure(
                rid,
                exposure.user_id,
                ms_to_rfc3339(t + 2_000),
                items,
                {**ctx, "surface": "other"},
                latency,
            )
            at(t + delay + 2_000, dup)
        if rng.random() < 0.95:  # 5% unassigned: ignored by the experiment analysis
            ctx_a = {"tenant_id": tenant, "surface": surface}
            at(t, Assignment(EXPERIMENT, variant, rid, exposure.user_id, ms_to_rfc3339(t), ctx_a))
            if rng.random() < 0.03:  # reassigned: the later record wins, SRM counts both
                other = "control" if variant == "treatment" else "treatment"
                at(
                    t + 1,
                    Assignment(
                        EXPERIMENT, other, rid, exposure.user_id, ms_to_rfc3339(t + 1), ctx_a
                    ),
                )
        ctr = 0.3 if variant == "treatment" else 0.2
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            if rng.random() < ctr * 2:
                dt = rng.randint(1_000, 20_000)
                item = items[0].item_id if items and rng.random() < 0.8 else "i999"
                at(t + dt, Outcome(rid, exposure.user_id, item, "click", ms_to_rfc3339(t + dt)))
                if rng.random() < 0.3:
                    value = rng.choice([2.5, 10.25, 7.0, 0.75])
                    at(
                        t + dt + 500,
                        Outcome(
                            rid,
                            exposure.user_id,
                            item,
                            "conversion",
                            ms_to_rfc3339(t + dt + 500),
                            value,
                        ),
                    )
        if rng.random() < 0.03:  # an orphan: no exposure ever has this request_id
            at(t + 3_000, Outcome(f"orphan{n}", "u0", "i1", "click", ms_to_rfc3339(t + 3_000)))
    timed.sort(key=lambda x: (x[0], x[1]))
    return Log([e for _, _, e in timed])


def write_jsonl(log: Log, directory: Path) -> Path:
    """The three JSONL files (each in arrival order) and a dataset YAML; returns the YAML."""
    paths = {}
    for name, kind in (("exposures", Exposure), ("outcomes", Outcome), ("assignments", Assignment)):
        path = directory / f"{name}.jsonl"
        path.write_text("".join(json.dumps(e.to_json()) + "\n" for e in log.of(kind)))
        paths[name] = path
    dataset = directory / "dataset.yaml"
    dataset.write_text(
        "".join(f"{n}: {{type: jsonl, path: {json.dumps(str(p))}}}\n" for n, p in paths.items())
    )
    return dataset


def offline_report(log: Log, directory: Path) -> dict[str, Any]:
    """``recsys-eval run --mode experiment`` on the log's JSONL files."""
    dataset = write_jsonl(log, directory)
    config = directory / "config.yaml"
    config.write_text(CONFIG_YAML)
    out = directory / "report.json"
    code = eval_main(
        [
            "run",
            "--dataset",
            str(dataset),
            "--config",
            str(config),
            "--output",
            str(out),
            "--mode",
            "experiment",
            "--experiment-id",
            EXPERIMENT,
        ],
        env={},
    )
    assert code in (0, 2, 3), code
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def assert_matches_offline(
    overview: dict[str, Any], experiment: dict[str, Any] | None, report: dict[str, Any]
) -> None:
    """The live documents carry the offline numbers, exactly."""
    assert experiment is not None
    ji = report["data_quality"]["join_integrity"]
    totals = overview["totals"]
    assert totals["exposures"] == ji["exposure_count"]
    assert totals["outcomes"] == ji["outcome_count"]
    assert totals["exposure_join_rate"] == ji["exposure_join_rate"]
    assert totals["outcome_join_rate"] == ji["outcome_join_rate"]
    assert totals["duplicates"] == ji.get("duplicate_exposure_request_ids", 0)
    assert experiment["assignments"] == {
        "assignments_count": ji["assignments_count"],
        "assignment_join_rate": ji["assignment_join_rate"],
    }
    off = report["experiment"]
    extra = ("per_request_ctr", "per_request_ctr_ci")

    def rows(vs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in extra} for row in vs]

    assert rows(experiment["variants"]) == off["variants"]
    assert {k: rows(v) for k, v in experiment["by_segment"].items()} == off.get("by_segment", {})
    assert experiment["guardrails"] == off["guardrails"]
    assert experiment["significance"] == off["significance"]
    srm = experiment["srm"]
    assert srm["global"] == off["srm"]["global"]
    assert srm.get("by_segment") == off["srm"].get("by_segment")
    assert (srm["alpha"], srm["min_sample"]) == (off["srm"]["alpha"], off["srm"]["min_sample"])
