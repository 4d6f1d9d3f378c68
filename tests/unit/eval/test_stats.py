"""The pure statistics against the spec's worked numbers and hand derivations."""

from __future__ import annotations

import math

import pytest

from eval.stats import correction, cuped, delta, normal, power, srm, ztest
from eval.stats.gamma import chi2_sf, gamma_p, gamma_q
from schemas.errors import ConfigError


def test_normal_cdf_and_two_sided_p() -> None:
    assert normal.cdf(0.0) == 0.5
    # the interleaving golden: z = −1 → 0.31731050786291415, exactly as Go computes it
    assert normal.two_sided_p(-1.0) == 0.31731050786291415
    assert normal.cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "quantile"),  # reference quantiles of N(0, 1) (e.g. Abramowitz & Stegun tables)
    [
        (0.001, -3.090232306167813),
        (0.02, -2.053748910631823),
        (0.3, -0.5244005127080407),
        (0.5, 0.0),
        (0.8, 0.8416212335729143),
        (0.975, 1.959963984540054),
        (0.9999, 3.719016485455709),
    ],
)
def test_acklam_inverse_is_within_its_error_bound(p: float, quantile: float) -> None:
    """Acklam's approximation has relative error below 1.15e-9."""
    assert normal.ppf(p) == pytest.approx(quantile, rel=1.15e-9, abs=1e-15)


def test_ppf_rejects_the_ends() -> None:
    with pytest.raises(ValueError, match="0 < p < 1"):
        normal.ppf(1.0)


def test_pooled_z_test_reproduces_the_experiment_golden() -> None:
    # variant B 0 clicks / 1 exposure vs control A 1 / 2; pooled p̂ = 1/3
    assert ztest.pooled_two_proportion(0, 1, 1, 2).p_value == 0.38647623077123283
    # conversions: B 1 / 1 vs A 0 / 2
    assert ztest.pooled_two_proportion(1, 1, 0, 2).p_value == 0.08326451666355039


def test_z_test_degenerate_cases_give_p_1() -> None:
    assert ztest.pooled_two_proportion(3, 10, 0, 0).p_value == 1.0
    assert ztest.pooled_two_proportion(0, 10, 0, 10).p_value == 1.0  # SE 0
    # event counts above n (CTR > 1) make p̂ > 1 and the variance negative: reported as p = 1
    assert ztest.pooled_two_proportion(5, 2, 4, 2).p_value == 1.0


def test_sign_test() -> None:
    assert ztest.sign_test(0, 0) == 1.0
    assert ztest.sign_test(0, 1) == 0.31731050786291415
    # 30 vs 10: z = (30 − 20)/√10
    assert ztest.sign_test(30, 10) == pytest.approx(math.erfc(10 / math.sqrt(10) / math.sqrt(2)))


def test_benjamini_hochberg_by_hand() -> None:
    # sorted .01 .03 .04 .2 → raw .04 .06 .0533 .2 → monotone from the top → .04 .0533 .0533 .2
    adjusted = correction.benjamini_hochberg([0.01, 0.04, 0.03, 0.2])
    assert adjusted == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert correction.benjamini_hochberg([0.9, 0.8]) == [0.9, 0.9]  # 0.8·2 capped by step-up
    golden = correction.correct("fdr_bh", [0.38647623077123283, 0.08326451666355039] * 2)
    assert golden == [0.38647623077123283, 0.16652903332710078] * 2


def test_bonferroni_and_none() -> None:
    assert correction.correct("bonferroni", [0.01, 0.6]) == [0.02, 1.0]
    assert correction.correct("none", [0.01, 0.6]) == [0.01, 0.6]
    with pytest.raises(ConfigError, match="known: bonferroni, fdr_bh, none"):
        correction.correct("holm", [0.1])


def test_incomplete_gamma_closed_forms() -> None:
    for x in (0.1, 1.0, 3.0, 7.3, 30.0):
        assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-12)
        assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
        assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-12)
        assert gamma_p(2.5, x) + gamma_q(2.5, x) == pytest.approx(1.0, abs=1e-14)


def test_srm_worked_numbers() -> None:
    """Spec §2.4: 90/10 vs 50/50 → χ² = 64, p ≈ 1.244e-15, detected; tiny 2/1 → 0.5637…"""
    skewed = srm.srm_test({"A": 90, "B": 10}, alpha=0.05, min_sample=20)
    assert skewed.chi2 == 64.0
    assert skewed.p_value == pytest.approx(1.244e-15, rel=1e-3)
    assert skewed.detected
    tiny = srm.srm_test({"A": 2, "B": 1}, alpha=0.001, min_sample=100)
    assert tiny.p_value == pytest.approx(0.5637028616507731, abs=1e-12)
    assert not tiny.detected and tiny.sample_size == 3
    assert tiny.expected == {"A": 1.5, "B": 1.5}


def test_srm_min_sample_gates_detection_and_ratios_are_normalised() -> None:
    small = srm.srm_test({"A": 18, "B": 2}, alpha=0.05, min_sample=100)
    assert small.p_value < 0.05 and not small.detected
    fitted = srm.srm_test(
        {"A": 80, "B": 20}, alpha=0.05, min_sample=10, expected_ratios={"A": 4, "B": 1}
    )
    assert fitted.chi2 == 0.0 and fitted.p_value == 1.0 and not fitted.detected
    missing = srm.srm_test({"A": 10}, alpha=0.05, min_sample=1, expected_ratios={"A": 1, "B": 1})
    assert missing.observed == {"A": 10, "B": 0} and missing.chi2 == pytest.approx(10.0)


def test_power_worked_numbers() -> None:
    """Spec §2.4: 0.10 / 0.01 / 0.05 / 0.8 / 10000 per day → 14751 per variant, 2.9502 days."""
    result = power.sample_size(0.10, 0.01, alpha=0.05, power=0.8, daily_samples=10000)
    assert result.sample_size_per_variant == 14751
    assert result.estimated_days == pytest.approx(2.9502, abs=1e-12)


def test_cuped_by_hand() -> None:
    # x = 1..4, y = 0,0,1,1: mean x 2.5, var x 1.25, cov 0.5 → θ = 0.4
    fitted = cuped.fit([1, 2, 3, 4], [0, 0, 1, 1])
    assert fitted is not None and fitted.theta == pytest.approx(0.4)
    # group {1, 2} with y 0, 0: 0 − 0.4·(1.5 − 2.5) = 0.4
    assert cuped.adjusted_mean(fitted, [1, 2], [0, 0]) == pytest.approx(0.4)
    assert cuped.fit([3, 3, 3], [0, 1, 0]) is None  # var(x) = 0 disables CUPED


def test_delta_method_intervals_by_hand() -> None:
    z = normal.ppf(0.975)
    p = delta.proportion(30, 100, 0.95)
    assert p.value == 0.3
    assert (p.ci_lower, p.ci_upper) == pytest.approx(
        (0.3 - z * math.sqrt(0.0021), 0.3 + z * math.sqrt(0.0021))
    )
    # relative lift 0.3/0.2 − 1 = 0.5; Var ≈ 0.0021/0.04 + 0.09·0.0016/0.0016 = 0.1425
    rel = delta.relative_lift(30, 100, 20, 100, 0.95)
    assert rel is not None and rel.value == pytest.approx(0.5)
    assert rel.ci_upper - rel.value == pytest.approx(z * math.sqrt(0.1425))
    assert delta.relative_lift(3, 10, 0, 10, 0.95) is None
    lift = delta.absolute_lift(30, 100, 20, 100, 0.95)
    assert lift.value == pytest.approx(0.1)
    assert lift.ci_upper - lift.value == pytest.approx(z * math.sqrt(0.0021 + 0.0016))
