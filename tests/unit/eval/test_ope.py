"""OPE estimators and every switch (spec §1.9, §3.6), against hand derivations."""

from __future__ import annotations

import dataclasses
import math

import pytest

from eval.config import OPEConfig
from eval.join import Case, JoinTally, join_memory
from eval.jsonl import JsonlSource
from eval.ope import evaluate_ope
from eval.records import (
    Exposure,
    ExposureItem,
    Outcome,
    exposure_from_json,
    outcome_from_json,
)
from schemas.errors import InputError
from tests.unit.eval.support import TINY


def _tiny() -> tuple[list[Case], list[Outcome]]:
    exposures = list(JsonlSource(TINY / "exposures.jsonl", exposure_from_json, name="exposures"))
    outcomes = list(JsonlSource(TINY / "outcomes.jsonl", outcome_from_json, name="outcomes"))
    return join_memory(exposures, outcomes, JoinTally()), outcomes


# Tiny item weights (target / logging): r1 i1 0.6/0.5, i2 0.2/0.3, i3 0.2/0.2;
# r2 i2 0.5/0.6, i3 0.2/0.2, i4 0.3/0.2. r1 clicked i1 (value 1); r2 converted i4 (value 10).
R1 = [0.6 / 0.5, 0.2 / 0.3, 0.2 / 0.2]
R2 = [0.5 / 0.6, 0.2 / 0.2, 0.3 / 0.2]


def _config(**changes: object) -> OPEConfig:
    return dataclasses.replace(OPEConfig(), **changes)  # type: ignore[arg-type]


def test_request_unit_reproduces_the_golden() -> None:
    cases, outcomes = _tiny()
    result = evaluate_ope(
        cases, outcomes, _config(reward_event="conversion", clipping=5, enable_snips=True)
    )
    w1, w2 = sum(R1) / 3, sum(R2) / 3  # 0.9556 (reward 0: a click) and 1.1111 (reward 10)
    ips, snips = result.estimators
    assert ips.value == pytest.approx(w2 * 10 / 2, rel=1e-12)
    assert snips.value == pytest.approx(w2 * 10 / (w1 + w2), rel=1e-12)
    assert ips.variance == pytest.approx((0 - ips.value) ** 2 + (w2 * 10 - ips.value) ** 2)
    assert result.weight_stats.effective_sample_size == pytest.approx(
        (w1 + w2) ** 2 / (w1**2 + w2**2)
    )
    assert result.samples == 2  # r3 has no items, so no sample
    assert result.warnings == ()


def test_item_unit_with_click_reward() -> None:
    cases, outcomes = _tiny()
    result = evaluate_ope(cases, outcomes, _config(unit="item", enable_snips=True))
    weights = R1 + R2
    ips, snips = result.estimators
    # only r1/i1 has a click reward (value 1) with weight 1.2
    assert ips.value == pytest.approx(1.2 / 6)
    assert snips.value == pytest.approx(1.2 / sum(weights))
    assert result.weight_stats.count == result.diagnostics.total_items == 6
    assert result.weight_stats.max == pytest.approx(1.5)


def test_clipping_counts_and_warns() -> None:
    cases, outcomes = _tiny()
    result = evaluate_ope(cases, outcomes, _config(unit="item", clipping=1.0))
    # 1.2 and 1.5 are clipped to 1: 2 of 6 weights
    assert result.weight_stats.clipped_fraction == pytest.approx(2 / 6)
    assert result.weight_stats.max == 1.0
    assert result.estimators[0].value == pytest.approx(1.0 / 6)
    assert "high_clipping_fraction" in result.warnings


def test_request_mode_clipped_fraction_mixes_units() -> None:
    """Quirk §9.7 kept: clipped items / request samples can exceed 1."""
    cases, outcomes = _tiny()
    result = evaluate_ope(cases, outcomes, _config(clipping=0.5))
    assert result.weight_stats.clipped_fraction == pytest.approx(6 / 2)


def _case(items: list[ExposureItem], outcomes: list[tuple[str, str, float]]) -> Case:
    exposure = Exposure.of("r1", "u", None, tuple(items))
    return Case(exposure, tuple(Outcome("r1", "u", i, kind, None, v) for i, kind, v in outcomes))


def test_missing_target_propensity_is_skipped_or_defaulted() -> None:
    case = _case(
        [
            ExposureItem("a", 1, logging_propensity=0.5, target_propensity=0.5),
            ExposureItem("b", 2, propensity=0.25),
        ],  # no target; logging via `propensity`
        [("b", "click", 0.0)],  # value 0 reads as reward 1
    )
    skipped = evaluate_ope([case], list(case.outcomes), _config(unit="item"))
    assert skipped.diagnostics.missing_target_propensity == 1
    assert skipped.weight_stats.count == 1 and skipped.estimators[0].value == 0.0
    assert "missing_target_propensity" in skipped.warnings
    allowed = evaluate_ope(
        [case], list(case.outcomes), _config(unit="item", allow_missing_target_propensity=True)
    )
    assert allowed.diagnostics.missing_target_propensity == 1
    assert allowed.weight_stats.count == 2
    assert allowed.estimators[0].value == pytest.approx(1.0 / 2)  # weight 1 · reward 1 / 2
    assert "missing_target_propensity" not in allowed.warnings


def test_items_without_a_positive_logging_propensity_are_skipped_silently() -> None:
    case = _case(
        [
            ExposureItem("a", 1, logging_propensity=0.0, target_propensity=0.5),
            ExposureItem("b", 2),
            ExposureItem("c", 3, logging_propensity=1e-7, target_propensity=0.0),
        ],
        [],
    )
    result = evaluate_ope([case], [], _config(unit="item"))
    assert result.weight_stats.count == 1
    assert result.diagnostics.near_zero_propensity == 2  # logging 1e-7 and target 0, separately
    assert result.diagnostics.missing_target_propensity == 0


def test_log2_discount_max_aggregation_and_last_outcome_wins() -> None:
    items = [
        ExposureItem(i, r, logging_propensity=0.5, target_propensity=0.5)
        for r, i in enumerate("abc", 1)
    ]
    outcomes = [
        ("a", "conversion", 2.0),
        ("b", "click", 1.0),
        ("b", "conversion", 4.0),
        ("c", "conversion", 3.0),
    ]
    case = _case(items, outcomes)
    config = _config(reward_event="conversion", position_discount="log2")
    total = evaluate_ope([case], list(case.outcomes), config)
    # sum of reward·pw: 2/log2(2) + 4/log2(3) + 3/log2(4); b's last outcome (conversion 4) wins
    expected = 2 / math.log2(2) + 4 / math.log2(3) + 3 / math.log2(4)
    assert total.estimators[0].value == pytest.approx(expected)
    best = evaluate_ope(
        [case], list(case.outcomes), dataclasses.replace(config, reward_aggregation="max")
    )
    assert best.estimators[0].value == pytest.approx(max(2.0, 4 / math.log2(3), 1.5))


def test_doubly_robust_uses_the_in_sample_item_model() -> None:
    items = [ExposureItem("a", 1, logging_propensity=0.5, target_propensity=1.0)]
    joined = _case(items, [("a", "click", 1.0)])
    unjoined = Outcome("r-other", "u", "a", "click", None, 3.0)
    config = _config(unit="item", enable_dr=True)
    result = evaluate_ope([joined], [*joined.outcomes, unjoined], config)
    model = (1.0 + 3.0) / 2  # mean reward of item a over all click outcomes, joined or not
    dr = next(e for e in result.estimators if e.name == "dr")
    assert dr.value == pytest.approx(model + 2.0 * (1.0 - model))
    assert [e.name for e in result.estimators] == ["ips", "dr"]


def test_p95_rounds_half_away_from_zero_like_go() -> None:
    items = [
        ExposureItem(f"i{n}", n, logging_propensity=1.0, target_propensity=n / 100)
        for n in range(1, 32)
    ]
    result = evaluate_ope([_case(items, [])], [], _config(unit="item"))
    # 31 weights: index round(30·0.95) = round(28.5) = 29 in Go (Python's round gives 28)
    assert result.weight_stats.p95 == pytest.approx(30 / 100)


def test_no_samples_is_an_error() -> None:
    with pytest.raises(InputError, match="no valid samples for OPE"):
        evaluate_ope([_case([ExposureItem("a", 1)], [])], [], _config())


def test_top_k_keeps_the_best_ranked_items() -> None:
    cases, outcomes = _tiny()
    result = evaluate_ope(cases, outcomes, _config(unit="item", top_k=1))
    # rank 1 only: r1 i1 (weight 1.2, clicked, reward 1) and r2 i2 (weight 0.8333, reward 0)
    assert result.weight_stats.count == 2
    assert result.estimators[0].value == pytest.approx(1.2 / 2)
