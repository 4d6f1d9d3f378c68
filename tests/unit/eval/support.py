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


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    """Write records as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def experiment_files(
    directory: Path, arms: dict[str, list[tuple[int, float]]], *, extra_assignments: int = 0
) -> Path:
    """Exposures, click outcomes and assignments for arms of (clicks, latency_ms) requests.

    Returns a dataset YAML. ``extra_assignments`` adds assignment-only records for the
    last arm (they skew SRM without adding exposures).
    """
    exposures, outcomes, assignments = [], [], []
    number = 0
    for variant, requests in arms.items():
        for clicks, latency in requests:
            number += 1
            rid = f"r{number:03d}"
            ts = f"2025-01-01T00:{number // 60:02d}:{number % 60:02d}Z"
            exposures.append(
                {
                    "request_id": rid,
                    "user_id": f"u{number}",
                    "ts": ts,
                    "items": [{"item_id": "i1", "rank": 1}, {"item_id": "i2", "rank": 2}],
                    "context": {"segment": "all"},
                    "latency_ms": latency,
                }
            )
            outcomes += [
                {
                    "request_id": rid,
                    "user_id": f"u{number}",
                    "item_id": "i1",
                    "event_type": "click",
                    "ts": ts,
                }
            ] * clicks
            assignments.append(
                {
                    "experiment_id": "exp",
                    "variant": variant,
                    "request_id": rid,
                    "user_id": f"u{number}",
                    "ts": ts,
                }
            )
    last = list(arms)[-1]
    for extra in range(extra_assignments):
        assignments.append(
            {
                "experiment_id": "EXP",
                "variant": last,
                "request_id": f"x{extra}",
                "user_id": "ux",
                "ts": "2025-01-01T01:00:00Z",
            }
        )
    return write_dataset(
        directory,
        exposures=write_jsonl(directory / "exposures.jsonl", exposures),
        outcomes=write_jsonl(directory / "outcomes.jsonl", outcomes),
        assignments=write_jsonl(directory / "assignments.jsonl", assignments),
    )
