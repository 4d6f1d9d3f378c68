"""Fixtures: the tiny dataset as a dataset YAML in tmp_path, and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eval.cli import main
from tests.unit.eval.support import FIXED_CLOCK, FIXED_METADATA, TINY, write_dataset


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """The shared tiny dataset (all six files) as a dataset YAML in tmp_path."""
    return write_dataset(
        tmp_path,
        exposures=TINY / "exposures.jsonl",
        outcomes=TINY / "outcomes.jsonl",
        assignments=TINY / "assignments.jsonl",
        ranker_a=TINY / "ranker_a.jsonl",
        ranker_b=TINY / "ranker_b.jsonl",
        inter_outcomes=TINY / "outcomes_interleaving.jsonl",
    )


RunCli = Callable[..., tuple[int, dict[str, Any] | None]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``recsys-eval run`` with the golden clock and metadata; returns (exit, report)."""

    def run(dataset: Path, config: Path, *extra: str, name: str = "report.json") -> Any:
        output = tmp_path / name
        code = main(
            [
                "run",
                "--dataset",
                str(dataset),
                "--config",
                str(config),
                "--output",
                str(output),
                "--fixed-clock",
                FIXED_CLOCK,
                "--fixed-metadata",
                FIXED_METADATA,
                *extra,
            ],
            env={},
        )
        report = (
            json.loads(output.read_text()) if output.exists() and name.endswith(".json") else None
        )
        return code, report

    return run
