"""Artifact provenance from a pipeline manifest (artifacts.manifest_uri)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eval.provenance import artifacts_provenance
from tests.unit.eval.conftest import RunCli
from tests.unit.eval.support import FIXTURES


def _registry(tmp_path: Path) -> Path:
    blob = {
        "v": 1,
        "artifact_type": "popularity",
        "tenant": "t1",
        "surface": "home",
        "build": {"built_at": "2025-01-02T01:00:00Z", "version": "abc", "source_hash": "abc"},
        "items": [{"item_id": "i1", "count": 3}],
    }
    (tmp_path / "pop.json").write_text(json.dumps(blob))
    manifest = {
        "v": 1,
        "tenant": "t1",
        "surface": "home",
        "updated_at": "2025-01-02T01:00:00Z",
        "current": {
            "popularity": "pop.json",
            "cooc": "file:///nonexistent/cooc.json",
            "implicit": "s3://bucket/implicit.json",
        },
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def test_manifest_artifacts_are_listed_and_failures_become_warnings(tmp_path: Path) -> None:
    manifest = _registry(tmp_path)
    artifacts, warnings = artifacts_provenance(f"file://{manifest}")
    assert artifacts == [
        {
            "type": "popularity",
            "uri": "pop.json",
            "version": "abc",
            "source_hash": "abc",
            "built_at": "2025-01-02T01:00:00Z",
            "checksum": hashlib.sha256((tmp_path / "pop.json").read_bytes()).hexdigest(),
        }
    ]
    assert len(warnings) == 2
    assert warnings[0].startswith("artifact_unavailable: cooc file:///nonexistent/cooc.json")
    assert "s3:// object stores are not available" in warnings[1]


def test_unreadable_manifest_is_a_warning_not_an_error(tmp_path: Path) -> None:
    artifacts, warnings = artifacts_provenance(str(tmp_path / "missing.json"))
    assert artifacts == [] and warnings[0].startswith("artifact_manifest_unavailable")


def test_report_carries_the_artifacts(tmp_path: Path, tiny_dataset: Path, run_cli: RunCli) -> None:
    manifest = _registry(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(
        (FIXTURES / "ope.golden.yaml").read_text() + f"artifacts:\n  manifest_uri: '{manifest}'\n"
    )
    code, report = run_cli(tiny_dataset, config)
    assert code == 0 and report is not None
    assert [a["type"] for a in report["artifacts"]] == ["popularity"]
    assert len(report["warnings"]) == 2
