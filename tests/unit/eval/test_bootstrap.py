"""The bootstrap CI is tested for its statistics, not digits (Go's RNG is not reproduced)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.metrics.registry import MetricSpec
from eval.offline import MetricValue, OfflineResult, with_bootstrap
from eval.stats.bootstrap import bootstrap_mean_ci


def test_constant_data_gives_a_degenerate_interval() -> None:
    ci = bootstrap_mean_ci([0.25] * 50, iterations=100, level=0.95, rng=np.random.default_rng(1))
    assert ci is not None and ci.lower == ci.upper == 0.25 and ci.level == 0.95


def test_same_seed_same_interval_and_empty_input_has_none() -> None:
    data = list(np.random.default_rng(7).random(100))
    first = bootstrap_mean_ci(data, iterations=200, level=0.9, rng=np.random.default_rng(42))
    again = bootstrap_mean_ci(data, iterations=200, level=0.9, rng=np.random.default_rng(42))
    assert first == again
    assert bootstrap_mean_ci([], iterations=200, level=0.9, rng=np.random.default_rng(1)) is None


def test_width_matches_the_normal_theory_for_a_bernoulli_mean() -> None:
    """For n = 2000 draws with p = 0.3 the 95% width is about 2·1.96·√(p(1−p)/n) ≈ 0.040."""
    data = list((np.random.default_rng(3).random(2000) < 0.3).astype(float))
    ci = bootstrap_mean_ci(data, iterations=400, level=0.95, rng=np.random.default_rng(5))
    assert ci is not None
    mean = float(np.mean(data))
    assert ci.lower < mean < ci.upper
    expected = 2 * 1.96 * math.sqrt(mean * (1 - mean) / 2000)
    assert ci.upper - ci.lower == pytest.approx(expected, rel=0.2)


def test_a_narrower_level_gives_a_narrower_interval() -> None:
    data = list(np.random.default_rng(11).normal(size=300))
    wide = bootstrap_mean_ci(data, iterations=300, level=0.95, rng=np.random.default_rng(0))
    narrow = bootstrap_mean_ci(data, iterations=300, level=0.5, rng=np.random.default_rng(0))
    assert wide is not None and narrow is not None
    assert narrow.upper - narrow.lower < wide.upper - wide.lower


def test_coverage_is_close_to_the_nominal_level() -> None:
    """Across 200 samples of n = 80 from N(0.5, 1), a 90% CI covers 0.5 about 90% of the time."""
    rng = np.random.default_rng(2024)
    covered = 0
    trials = 200
    for _ in range(trials):
        data = list(rng.normal(0.5, 1.0, size=80))
        ci = bootstrap_mean_ci(data, iterations=200, level=0.9, rng=rng)
        assert ci is not None
        covered += ci.lower <= 0.5 <= ci.upper
    assert 0.82 <= covered / trials <= 0.96


def test_with_bootstrap_uses_one_generator_per_metric_index() -> None:
    specs = [MetricSpec("precision", 2), MetricSpec("coverage", 2), MetricSpec("recall", 2)]
    result = OfflineResult(
        cases=4,
        metrics=(
            MetricValue("precision@2", 0.5),
            MetricValue("coverage@2", 1.0),
            MetricValue("recall@2", 0.25),
        ),
        by_segment={},
        case_values={"precision@2": [0.0, 1.0, 0.0, 1.0], "recall@2": [0.0, 0.0, 0.0, 1.0]},
    )
    rngs = {0: np.random.default_rng(42), 2: np.random.default_rng(44)}  # seed + index
    out = with_bootstrap(result, specs, iterations=100, level=0.95, rng_for_metric=rngs)
    precision, coverage_, recall = out.metrics
    assert coverage_.ci is None  # dataset-level metrics get no CI
    assert precision.ci is not None and 0.0 <= precision.ci.lower <= 0.5 <= precision.ci.upper <= 1
    assert recall.ci is not None and recall.ci.lower <= 0.25 <= recall.ci.upper
