"""Artifact provenance for reports (``artifacts.manifest_uri``, spec §3.8).

The manifest (``{v, tenant, surface, current: {kind: uri}, updated_at}``) is read
from a ``file://`` URI or a plain path; each artifact it points at is read and
listed as ``{type, uri, version, source_hash, built_at, checksum}`` (checksum =
sha256 of the bytes). Failures never abort the run: they become report warnings.
Relative artifact paths resolve against the manifest's directory. ``s3://`` needs
the object-store adapter, which this build does not have: that is a warning too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


def _read(uri: str, base: Path | None) -> bytes:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme in ("", None):
        path = Path(uri)
        if base is not None and not path.is_absolute():
            path = base / path
    else:
        raise ValueError(f"{parsed.scheme}:// object stores are not available in this build")
    return path.read_bytes()


def _directory(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path) if parsed.scheme == "file" else uri).parent


def artifacts_provenance(manifest_uri: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The artifacts listed by the manifest, and warnings for whatever could not be read."""
    try:
        manifest = json.loads(_read(manifest_uri, None))
        current = manifest["current"]
        if not isinstance(current, dict):
            raise ValueError("'current' is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [], [f"artifact_manifest_unavailable: {manifest_uri}: {exc}"]
    base = _directory(manifest_uri)
    artifacts: list[dict[str, Any]] = []
    warnings: list[str] = []
    for kind in sorted(current):
        uri = str(current[kind])
        try:
            blob = _read(uri, base)
            build = json.loads(blob).get("build", {}) or {}
        except (OSError, ValueError, AttributeError) as exc:
            warnings.append(f"artifact_unavailable: {kind} {uri}: {exc}")
            continue
        artifacts.append(
            {
                "type": kind,
                "uri": uri,
                "version": str(build.get("version", "")),
                "source_hash": str(build.get("source_hash", "")),
                "built_at": str(build.get("built_at", "")),
                "checksum": hashlib.sha256(blob).hexdigest(),
            }
        )
    return artifacts, warnings
