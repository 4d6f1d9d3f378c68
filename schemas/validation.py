"""JSON Schema validation of events, with format assertion on (as `recsys-eval validate`)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

from schemas.errors import ConfigError

SCHEMA_NAMES: tuple[str, ...] = (
    "exposure.v1",
    "outcome.v1",
    "assignment.v1",
    "ranklist.v1",
    "item.v1",
)


def load_schema(name_or_path: str) -> dict[str, Any]:
    """Load a schema by bare name (``exposure.v1``) from this package, or from a file path."""
    if name_or_path in SCHEMA_NAMES:
        text = resources.files("schemas").joinpath("json", f"{name_or_path}.json").read_text()
    else:
        path = Path(name_or_path)
        if not path.is_file():
            known = ", ".join(SCHEMA_NAMES)
            raise ConfigError(f"unknown schema {name_or_path!r}: not a file and not one of {known}")
        text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"schema {name_or_path!r} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"schema {name_or_path!r} is not a JSON object")
    return doc


@functools.lru_cache(maxsize=32)
def validator_for(name_or_path: str) -> Draft7Validator:
    """A draft-07 validator that asserts ``format`` (date-time is RFC 3339)."""
    return Draft7Validator(load_schema(name_or_path), format_checker=FormatChecker())


def _where(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "$" + "".join(parts)


def schema_errors(name_or_path: str, document: Any) -> list[str]:
    """Every reason ``document`` breaks the schema, as ``$.path: message``, sorted by path."""
    errors = sorted(
        validator_for(name_or_path).iter_errors(document),
        key=lambda e: (list(map(str, e.absolute_path)), e.message),
    )
    return [f"{_where(e.absolute_path)}: {e.message}" for e in errors]
