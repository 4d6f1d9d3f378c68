"""Test support: shared-data paths (beside the repo), golden metadata, JSON comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# The repository is cloned as <somewhere>/main with shared/ beside it.
SHARED = (Path(__file__).resolve().parents[3] / ".." / "shared").resolve()
EVAL_DATA = SHARED / "data" / "recsys-eval"
TINY = EVAL_DATA / "testdata" / "datasets" / "tiny"
GOLDEN = EVAL_DATA / "testdata" / "golden"
REPORT_SCHEMA = EVAL_DATA / "schemas" / "report.v1.json"
DECISION_SCHEMA = EVAL_DATA / "schemas" / "decision.v1.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

FIXED_CLOCK = "2025-01-01T00:00:00Z"
FIXED_METADATA = json.dumps(
    {
        "binary_version": "test",
        "git_commit": "deadbeef",
        "effective_config": {"test": True},
        "input_dataset_fingerprint": "fingerprint",
        "version": "0.1.0",
    }
)


def write_dataset(directory: Path, **sources: Path) -> Path:
    """A dataset YAML in ``directory`` whose jsonl sources point at the given files."""
    lines = []
    inter = {k: v for k, v in sources.items() if k.startswith("ranker_") or k == "inter_outcomes"}
    for name, path in sources.items():
        if name not in inter:
            lines.append(f"{name}: {{type: jsonl, path: {json.dumps(str(path))}}}")
    if inter:
        lines.append("interleaving:")
        for name, path in inter.items():
            key = "outcomes" if name == "inter_outcomes" else name
            lines.append(f"  {key}: {{type: jsonl, path: {json.dumps(str(path))}}}")
    target = directory / "dataset.yaml"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def assert_json_close(actual: Any, expected: Any, path: str = "$") -> None:
    """Canonical JSON equality (key sets, list order) with floats equal to 1e-12."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(expected), (
            f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        )
        for key in expected:
            assert_json_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_json_close(a, e, f"{path}[{index}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected and type(actual) is type(expected), (
            f"{path}: {actual!r} != {expected!r}"
        )
    else:
        assert isinstance(actual, int | float) and not isinstance(actual, bool), (
            f"{path}: {actual!r}"
        )
        assert math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12), (
            f"{path}: {actual!r} != {expected!r}"
        )
