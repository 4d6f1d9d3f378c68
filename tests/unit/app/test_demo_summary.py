"""The demo's one-line live summary, from hand-written live documents."""

from __future__ import annotations

from app.demo_summary import Rate, summary_line


def test_rate_is_the_change_of_events_between_calls() -> None:
    rate = Rate()
    assert rate.update(10.0, 100) == 0.0  # nothing to compare with yet
    assert rate.update(12.0, 300) == 100.0  # 200 events in 2 s
    assert rate.update(13.0, 250) == 0.0  # a smaller total (restart) is not negative


def test_line_names_each_arm_the_p_value_and_srm() -> None:
    overview = {"totals": {"exposures": 40, "outcomes": 60, "outcome_join_rate": 0.975}}
    experiment = {
        "variants": [
            {"variant": "A", "exposures": 20, "per_request_ctr": 0.25,
             "per_request_ctr_ci": [0.2, 0.3]},
            {"variant": "B", "exposures": 20, "per_request_ctr": 0.5,
             "per_request_ctr_ci": [0.4, 0.6]},
        ],
        "significance": [
            {"primary": True, "adjusted_p_value": 0.00042, "significant": True},
            {"primary": True, "segment": "x", "adjusted_p_value": 0.00001},  # segment: not shown
            {"primary": False, "adjusted_p_value": 0.00002},  # not primary: not shown
        ],
        "srm": {"p_value": 0.5, "alarm": False},
    }
    rate = Rate()
    rate.update(0.0, 0)
    line = summary_line(5.0, 35.0, overview, experiment, rate)
    assert line == (
        "live 35s: 20 ev/s | join 97.5% | A ctr 0.250 ± 0.050 (20 req)  "
        "B ctr 0.500 ± 0.100 (20 req)  p=4.2e-04 * | SRM ok (p=0.500)"
    )


def test_line_before_any_experiment_data_and_with_an_srm_alarm() -> None:
    overview = {"totals": {}}
    assert summary_line(0.0, 1.0, overview, None, Rate()).endswith("experiment: no data yet")
    alarm = {"variants": [], "srm": {"p_value": 0.0001, "alarm": True}}
    line = summary_line(0.0, 1.0, overview, alarm, Rate())
    assert line.endswith("no arms yet | SRM ALARM (p=0.000)")


def test_srm_is_not_judged_below_its_minimum_sample() -> None:
    overview = {"totals": {}}
    few = {"variants": [], "srm": {"p_value": 0.83, "alarm": False, "min_sample": 100,
                                   "global": {"sample_size": 38}}}
    assert summary_line(0.0, 1.0, overview, few, Rate()).endswith(
        "SRM n/a (38 of 100 assignments)")
    enough = {"variants": [], "srm": {"p_value": 0.83, "alarm": False, "min_sample": 100,
                                      "global": {"sample_size": 100}}}
    assert summary_line(0.0, 1.0, overview, enough, Rate()).endswith("SRM ok (p=0.830)")
