"""The four goldens of the original tool, reproduced through the CLI (spec §2.3).

Each test runs ``recsys-eval run`` on the shared tiny dataset with the golden clock
and metadata, then compares the written report with the golden as canonical JSON
(same keys everywhere, same list order, floats equal to 1e-12), and validates it
against the shared report.v1 schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tests.unit.eval.conftest import RunCli
from tests.unit.eval.support import FIXTURES, GOLDEN, REPORT_SCHEMA, assert_json_close


def _golden(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
    return document


def _assert_valid_report(report: dict[str, Any]) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text())
    errors = [
        e.message
        for e in Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(report)
    ]
    assert errors == []


def test_offline_golden_second_run_against_first_as_baseline(
    tiny_dataset: Path, run_cli: RunCli
) -> None:
    config = FIXTURES / "offline.golden.yaml"
    code, first = run_cli(tiny_dataset, config, name="first.json")
    assert code == 0
    # The first run has no baseline: no baseline block, and the executive asks for one.
    assert "baseline" not in first["offline"]
    assert first["summary"]["executive"]["next_steps"][0].startswith("Add a baseline report")
    _assert_valid_report(first)

    code, second = run_cli(
        tiny_dataset,
        config,
        "--baseline",
        str(tiny_dataset.parent / "first.json"),
        name="second.json",
    )
    assert code == 0
    assert_json_close(second, _golden("offline"))
    _assert_valid_report(second)


@pytest.mark.parametrize("mode", ["experiment", "ope", "interleaving"])
def test_mode_golden(mode: str, tiny_dataset: Path, run_cli: RunCli) -> None:
    code, report = run_cli(tiny_dataset, FIXTURES / f"{mode}.golden.yaml")
    assert code == 0
    assert_json_close(report, _golden(mode))
    _assert_valid_report(report)


@pytest.mark.parametrize("mode", ["experiment", "ope", "interleaving"])
def test_mode_flag_overrides_config_mode(mode: str, tiny_dataset: Path, run_cli: RunCli) -> None:
    """``--mode`` wins over ``mode:``: a config saying offline still yields the mode's golden."""
    text = (FIXTURES / f"{mode}.golden.yaml").read_text().replace(f"mode: {mode}", "mode: offline")
    config = tiny_dataset.parent / "says-offline.yaml"
    config.write_text(text + "offline:\n  metrics: [{name: ndcg, k: 5}]\n")
    code, report = run_cli(tiny_dataset, config, "--mode", mode)
    assert code == 0
    assert_json_close(report, _golden(mode))
