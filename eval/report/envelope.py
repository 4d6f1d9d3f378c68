"""The report.v1 envelope, run metadata and the JSON writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eval import REPORT_VERSION
from eval.report.gojson import marshal_indent
from eval.timeparse import format_rfc3339, run_stamp

RUN_ID_PREFIX = {
    "offline": "offline",
    "experiment": "experiment",
    "ope": "ope",
    "interleaving": "interleave",
    "aa-check": "aa-check",
}


@dataclass(frozen=True)
class RunMetadata:
    """Clock and provenance stamped on a report (fixed in golden tests)."""

    created_at: datetime
    binary_version: str
    git_commit: str
    effective_config: Any
    input_dataset_fingerprint: str
    version: str = REPORT_VERSION


def run_id(mode: str, created_at: datetime) -> str:
    """``<prefix>-YYYYMMDDTHHMMSSZ`` (UTC)."""
    return f"{RUN_ID_PREFIX[mode]}-{run_stamp(created_at)}"


def envelope(
    mode: str,
    meta: RunMetadata,
    *,
    cases: int,
    executive: dict[str, Any],
    sections: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    """The whole report: envelope fields, summary, mode sections, gates and warnings."""
    report: dict[str, Any] = {
        "run_id": run_id(mode, meta.created_at),
        "mode": mode,
        "created_at": format_rfc3339(meta.created_at),
        "version": meta.version,
        "binary_version": meta.binary_version,
        "git_commit": meta.git_commit,
        "effective_config": meta.effective_config,
        "input_dataset_fingerprint": meta.input_dataset_fingerprint,
        "summary": {"cases_evaluated": cases, "executive": executive},
    }
    report.update({k: v for k, v in sections.items() if v is not None})
    if warnings:
        report["warnings"] = warnings
    return report


def to_json(report: Any) -> str:
    """The report as Go's ``json.MarshalIndent`` writes it (2-space indent), plus a newline."""
    return marshal_indent(report) + "\n"
