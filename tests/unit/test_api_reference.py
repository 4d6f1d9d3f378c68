"""docs/api-reference.md is generated from the OpenAPI document and must not drift from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from serving.openapi import document

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "gen_api_reference.py"
REFERENCE = ROOT / "docs" / "api-reference.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_up_to_date():
    expected = _generator().render(document(live=True))
    assert REFERENCE.read_text(encoding="utf-8") == expected, (
        "docs/api-reference.md is stale: run .venv/bin/python docs/gen_api_reference.py"
    )


def test_reference_lists_every_operation_of_the_document():
    text = REFERENCE.read_text(encoding="utf-8")
    doc = document(live=True)
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                assert f"### `{method.upper()} {path}`" in text


def test_render_is_deterministic_and_check_mode_passes(capsys):
    gen = _generator()
    assert gen.render(document(live=True)) == gen.render(document(live=True))
    assert gen.main(["--check"]) == 0


def test_describe_shows_limits_nullability_and_enums():
    gen = _generator()
    assert gen.describe({"anyOf": [{"type": "string", "maxLength": 8}, {"type": "null"}]}) == (
        "string (≤ 8 chars) or null"
    )
    assert gen.describe({"type": "array", "maxItems": 3, "items": {"type": "string"}}) == (
        "array (≤ 3 items) of string"
    )
    assert gen.describe({"enum": ["a", "b"]}) == "one of `a`, `b`"
    # the int64 range every integer carries is noise, not a limit
    assert gen.describe({"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}) == (
        "integer"
    )
