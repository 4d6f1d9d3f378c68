"""The demo report's per-arm lines and the eval configs it writes."""

from __future__ import annotations

from pathlib import Path

from app.demo_report import arm_lines, experiment_yaml, offline_yaml
from eval.config_normalize import load_config


def test_arm_lines_join_the_experiment_and_the_offline_report() -> None:
    offline = {
        "offline": {
            "by_segment": {
                "experiment_variant=": [{"name": "ndcg@10", "value": 0.5}],
                "experiment_variant=A": [{"name": "ndcg@10", "value": 0.1},
                                         {"name": "recall@10", "value": 0.9}],
                "experiment_variant=B": [{"name": "ndcg@10", "value": 0.25}],
            }
        }
    }
    experiment = {
        "experiment": {
            "variants": [{"variant": "A", "exposures": 1200, "ctr": 0.25},
                         {"variant": "B", "exposures": 1300, "ctr": 0.3}],
            "significance": [
                {"variant": "B", "primary": True, "adjusted_p_value": 0.0012},
                {"variant": "B", "primary": True, "segment": "s", "adjusted_p_value": 0.5},
            ],
            "srm": {"global": {"p_value": 0.42, "detected": False}},
        }
    }
    assert arm_lines(offline, experiment) == [
        "A: 1,200 requests  ctr 0.2500  ndcg@10 0.1000",
        "B: 1,300 requests  ctr 0.3000  p=0.0012  ndcg@10 0.2500",
        "SRM not detected (p=0.42)",
    ]


def test_the_written_configs_load_strictly(tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text(offline_yaml())
    (tmp_path / "e.yaml").write_text(experiment_yaml("demo-covis"))
    offline = load_config(tmp_path / "o.yaml")
    assert offline.offline.slice_keys == ("experiment_variant",)
    experiment = load_config(tmp_path / "e.yaml").experiment
    assert experiment.experiment_id == "demo-covis"
    assert experiment.context_variant_fallback and experiment.srm.enabled
    assert (experiment.srm.alpha, experiment.srm.min_sample) == (0.001, 100)
