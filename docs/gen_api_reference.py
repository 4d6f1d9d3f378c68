"""Render ``docs/api-reference.md`` from the OpenAPI document of the serving API.

The reference is generated, never edited by hand: ``serving.openapi.document(live=True)``
(every route, the live evaluation ones included) is the single source, and
``tests/unit/test_api_reference.py`` fails when the committed file differs from what
this script renders. Regenerate with::

    .venv/bin/python docs/gen_api_reference.py          # writes docs/api-reference.md
    .venv/bin/python docs/gen_api_reference.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "api-reference.md"
METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_TYPE = "application/problem+json"
MAX_DEPTH = 8
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Schema = Mapping[str, Any]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _nullable_inner(schema: Schema) -> Schema | None:
    """``X`` when ``schema`` is ``anyOf: [X, {"type": "null"}]``, else None."""
    alts = schema.get("anyOf")
    if isinstance(alts, list) and len(alts) == 2 and {"type": "null"} in alts:
        return next(a for a in alts if a != {"type": "null"})
    return None


def _bounds(schema: Schema) -> list[str]:
    """Limits worth showing (the int64 range every integer has is left out)."""
    out = []
    lo, hi = schema.get("minimum"), schema.get("maximum")
    lo = None if lo == INT64_MIN else lo
    hi = None if hi == INT64_MAX else hi
    if lo is not None and hi is not None:
        out.append(f"{lo}..{hi}")
    elif lo is not None:
        out.append(f"≥ {lo}")
    elif "exclusiveMinimum" in schema and hi is not None:
        out.append(f"> {schema['exclusiveMinimum']}, ≤ {hi}")
    elif "exclusiveMinimum" in schema:
        out.append(f"> {schema['exclusiveMinimum']}")
    elif hi is not None:
        out.append(f"≤ {hi}")
    for key, text in (("minLength", "≥ {} chars"), ("maxLength", "≤ {} chars"),
                      ("minItems", "≥ {} items"), ("maxItems", "≤ {} items"),
                      ("minProperties", "≥ {} keys"), ("maxProperties", "≤ {} keys")):
        if key in schema:
            out.append(text.format(schema[key]))
    if "pattern" in schema:
        out.append(f"pattern `{schema['pattern']}`")
    if "format" in schema:
        out.append(schema["format"])
    return out


def describe(schema: Schema) -> str:
    """A one-line type: ``string (≤ 256 chars)``, ``array (≤ 50 items) of string``."""
    inner = _nullable_inner(schema)
    if inner is not None:
        return f"{describe(inner)} or null"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(describe(alt) for alt in schema["oneOf"])
    kind = str(schema.get("type", "any"))
    bounds = f" ({', '.join(_bounds(schema))})" if _bounds(schema) else ""
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array{bounds} of {describe(schema['items'])}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"map{bounds} of {describe(schema['additionalProperties'])}"
    return f"{kind}{bounds}"


def _note(schema: Schema) -> str:
    """What a field table cannot show: ``anyOf`` of required sets (``user``)."""
    alts = schema.get("anyOf")
    if isinstance(alts, list) and _nullable_inner(schema) is None:
        names = [n for alt in alts for n in alt.get("required", ())]
        if names:
            return "at least one of " + ", ".join(f"`{n}`" for n in names)
    return ""


def field_rows(schema: Schema, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, ...]]:
    """(field path, type, required, note) of an object's properties, nested ones dotted."""
    schema = _nullable_inner(schema) or schema
    if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
        yield from field_rows(schema["items"], f"{prefix}[]", depth)
        return
    if depth >= MAX_DEPTH:
        return
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping) and isinstance(values.get("properties"), Mapping):
        yield from field_rows(values, f"{prefix}.<name>" if prefix else "<name>", depth + 1)
        return
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    required = set(schema.get("required", ()))
    for name, sub in props.items():
        path = f"{prefix}.{name}" if prefix else name
        sub_inner = _nullable_inner(sub) or sub
        yield (path, describe(sub), "yes" if name in required else "", _note(sub_inner))
        yield from field_rows(sub_inner, path, depth + 1)


def _schema_block(schema: Schema) -> list[str]:
    """A schema as Markdown: its description, type, and a field table when it has fields."""
    lines: list[str] = []
    if schema.get("description"):
        lines += [str(schema["description"]), ""]
    alternatives = schema.get("oneOf") or (schema.get("items") or {}).get("oneOf")
    if alternatives and schema.get("type") == "array":
        lines += [f"Type: array; each element is one of {len(alternatives)} shapes.", ""]
        for number, alt in enumerate(alternatives, start=1):
            lines += [f"Shape {number}:", "", *_table(field_rows(alt, "[]")), ""]
        return lines
    lines += [f"Type: {describe(schema)}.", ""]
    if _note(schema):
        lines += [f"Note: {_note(schema)}.", ""]
    rows = list(field_rows(schema))
    if rows:
        lines += [*_table(rows), ""]
    return lines


def _table(rows: Iterator[tuple[str, ...]] | list[tuple[str, ...]]) -> list[str]:
    out = ["| field | type | required | note |", "| --- | --- | --- | --- |"]
    for path, kind, required, note in rows:
        out.append(f"| `{_cell(path)}` | {_cell(kind)} | {required} | {_cell(note)} |")
    return out


def _parameters(path_item: Schema, op: Schema) -> list[str]:
    params = [*path_item.get("parameters", ()), *op.get("parameters", ())]
    if not params:
        return []
    lines = ["Parameters:", "", "| name | in | required | type |", "| --- | --- | --- | --- |"]
    for p in params:
        required = "yes" if p.get("required") else ""
        kind = _cell(describe(p.get("schema", {})))
        lines.append(f"| `{p['name']}` | {p['in']} | {required} | {kind} |")
    return [*lines, ""]


def _security(doc: Schema, op: Schema) -> str:
    if not op.get("security"):
        return "Authentication: none (public)."
    schemes = doc.get("components", {}).get("securitySchemes", {})
    names = []
    for requirement in op["security"]:
        for scheme in requirement:
            s = schemes.get(scheme, {})
            names.append(f"`{s.get('name', scheme)}` {s.get('in', '')}".strip())
    return (
        f"Authentication: {' or '.join(names)} (in open mode, `X-Org-Id` names the tenant "
        "instead; see [Authentication and tenancy](api.md#authentication-and-tenancy))."
    )


def _operation(
    doc: Schema, path: str, method: str, path_item: Schema, seen: list[tuple[Schema, str]]
) -> list[str]:
    """One operation; a request body already shown is referred to, not repeated."""
    op = path_item[method]
    lines = [f"### `{method.upper()} {path}`", "", str(op.get("summary", "")), ""]
    lines += [_security(doc, op), ""]
    lines += _parameters(path_item, op)
    body = op.get("requestBody")
    if body:
        for content_type, media in body.get("content", {}).items():
            required = " (required)" if body.get("required") else ""
            schema = media.get("schema", {})
            first = next((where for known, where in seen if known == schema), None)
            if first is not None:
                lines += [f"Request body `{content_type}`{required}: as {first}.", ""]
                continue
            seen.append((schema, f"[`{method.upper()} {path}`](#{_anchor(method, path)})"))
            lines += [f"Request body `{content_type}`{required}:", ""]
            lines += _schema_block(schema)
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        label = "any other status" if status == "default" else status
        if set(content) == {PROBLEM_TYPE}:
            lines += [f"Response {label}: `{PROBLEM_TYPE}`, see [Problems](#problems).", ""]
            continue
        if not content:
            lines += [f"Response {label}: {response.get('description', '')}.", ""]
            continue
        types = ", ".join(f"`{t}`" for t in content)
        lines += [f"Response {label} ({types}):", ""]
        first = next(iter(content.values()))
        lines += _schema_block(first.get("schema", {}))
    return lines


def _problem_schema(doc: Schema) -> Schema | None:
    for path_item in doc["paths"].values():
        for method in METHODS:
            for response in path_item.get(method, {}).get("responses", {}).values():
                media = response.get("content", {}).get(PROBLEM_TYPE)
                if media:
                    schema: Schema = media["schema"]
                    return schema
    return None


def _anchor(method: str, path: str) -> str:
    """GitHub's heading anchor of ``### `METHOD path` ``."""
    text = f"{method} {path}".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def render(doc: Schema) -> str:
    """The Markdown reference of an OpenAPI document (deterministic: same doc, same text)."""
    info = doc.get("info", {})
    lines = [
        f"# API reference: {info.get('title', '')} {info.get('version', '')}".rstrip(),
        "",
        "<!-- Generated by docs/gen_api_reference.py from serving.openapi.document(live=True);",
        "     do not edit by hand. tests/unit/test_api_reference.py fails when it is stale. -->",
        "",
        f"OpenAPI {doc.get('openapi', '')}: the same document a replica serves at "
        "`GET /openapi.json` (the live routes are served when the app has a live source). "
        "Behaviour, defaults and error codes are explained in [api.md](api.md).",
        "",
        "Optional request fields also accept `null`, which counts as absent. Unknown "
        "fields are rejected (400).",
        "",
        "| method | path | summary |",
        "| --- | --- | --- |",
    ]
    for path, path_item in doc["paths"].items():
        for method in METHODS:
            if method in path_item:
                summary = _cell(str(path_item[method].get("summary", "")))
                anchor = _anchor(method, path)
                lines.append(f"| {method.upper()} | [`{path}`](#{anchor}) | {summary} |")
    lines += ["", "## Operations", ""]
    seen: list[tuple[Schema, str]] = []
    for path, path_item in doc["paths"].items():
        for method in METHODS:
            if method in path_item:
                lines += _operation(doc, path, method, path_item, seen)
    problem = _problem_schema(doc)
    if problem is not None:
        lines += ["## Problems", "", f"Every error is `{PROBLEM_TYPE}` (RFC 7807):", ""]
        lines += _schema_block(problem)
        lines += ["The `code` values are listed in `serving/problem.py`.", ""]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def current() -> str:
    """The reference of the document the code serves today."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from serving.openapi import document

    return render(document(live=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = current()
    if args.check:
        stale = not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text
        if stale:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run docs/gen_api_reference.py")
        return 1 if stale else 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
