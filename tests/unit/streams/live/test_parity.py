"""Batch twin of the live join == ``recsys-eval run --mode experiment`` on the same log."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from eval.config_normalize import load_config
from serving.live_reader import default_experiment_config, experiment, merge_snapshots, overview
from streams.live.twin import batch_snapshots
from tests.unit.streams.live.parity_data import (
    CONFIG_YAML,
    EXPERIMENT,
    LIVE_CONFIG,
    generate,
    offline_report,
)


@pytest.mark.parametrize(("seed", "partitions"), [(1, 1), (2, 4), (3, 8)])
def test_batch_twin_equals_offline_experiment_mode(
    tmp_path: Path, seed: int, partitions: int
) -> None:
    log = generate(random.Random(seed))
    report = offline_report(log, tmp_path)
    (tmp_path / "c.yaml").write_text(CONFIG_YAML)
    cfg = load_config(tmp_path / "c.yaml").experiment
    merged = merge_snapshots(batch_snapshots(log.arrival, LIVE_CONFIG, partitions))
    ov = overview(merged)
    doc = experiment(merged, EXPERIMENT, cfg)
    from tests.unit.streams.live.parity_data import assert_matches_offline

    assert_matches_offline(ov, doc, report)
    # the log exercises what it should
    ji = report["data_quality"]["join_integrity"]
    assert ji["duplicate_exposure_request_ids"] > 0
    assert 0 < ji["outcome_join_rate"] < 1
    assert ov["totals"]["orphans"] > 0
    assert default_experiment_config().srm.min_sample == 100
