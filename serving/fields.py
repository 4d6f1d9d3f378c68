"""Strict JSON field readers shared by the request and document parsers.

Type errors (wrong JSON type, unknown field, malformed JSON) are 400
``RECSYS_INVALID_REQUEST``; semantic errors (out of range, too many, missing
required value) are 422 ``RECSYS_UNPROCESSABLE_ENTITY``. Messages name the field
path so a client can fix the request without reading our code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from schemas.errors import ServingError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: what JSON Schema's ``\s`` means (ECMA-262 WhiteSpace and LineTerminator): the
#: characters trimmed from ids and tags. Python's ``str.strip()`` also strips the
#: ASCII separators \x1c-\x1f and \x85, which the published ``\S`` pattern allows.
WHITESPACE = (" \t\n\v\f\r\u00a0\ufeff\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def trim(value: str) -> str:
    return value.strip(WHITESPACE)


def bad(detail: str, code: str = "RECSYS_INVALID_REQUEST") -> ServingError:
    return ServingError(detail, status=400, code=code)


def unprocessable(detail: str, code: str = "RECSYS_UNPROCESSABLE_ENTITY") -> ServingError:
    return ServingError(detail, status=422, code=code)


def load_json(body: bytes) -> Any:
    """A JSON document from bytes; malformed JSON or trailing data is a 400.

    orjson reads integer literals beyond 64 bits as floats, so every document we load
    can be written back (echoed, hashed) unchanged.
    """
    if not body.strip():
        raise bad("request body is empty; expected JSON")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad(f"malformed JSON: {exc}") from exc
    return doc


def load_object(body: bytes) -> dict[str, Any]:
    """A JSON object from bytes (see ``load_json``)."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise bad("request body must be a JSON object")
    return doc


def reject_unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise bad(f"unknown field {where}{unknown[0]!r}")


def obj(doc: Mapping[str, Any], key: str, where: str, allowed: frozenset[str]) -> dict[str, Any]:
    """An optional nested object (absent or null → empty); unknown keys are a 400."""
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad(f"{where}{key} must be an object")
    reject_unknown(value, allowed, f"{where}{key}.")
    return value


def opt_str(doc: Mapping[str, Any], key: str, where: str, max_len: int = 256) -> str | None:
    """An optional string, trimmed; empty after trimming counts as absent."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{where}{key} must be a string")
    value = trim(value)
    if len(value) > max_len:
        raise unprocessable(f"{where}{key} is longer than {max_len} characters")
    return value or None


def opt_bool(doc: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = doc.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad(f"{where}{key} must be a boolean")
    return value


def opt_int(doc: Mapping[str, Any], key: str, where: str) -> int | None:
    """An optional integer; ``5.0`` counts as 5, as JSON Schema's ``integer`` says."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        # orjson reads integers beyond 64 bits as floats, which round: ±2^63 as a float
        # may stand for a value just outside the range, so the bounds are strict here
        if not INT64_MIN < value < INT64_MAX:
            raise unprocessable(f"{where}{key} must fit in a signed 64-bit integer")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{where}{key} must be an integer")
    return value


def opt_number(doc: Mapping[str, Any], key: str, where: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(f"{where}{key} must be a number")
    if not math.isfinite(value):
        raise unprocessable(f"{where}{key} must be finite")
    return float(value)


def str_list(
    doc: Mapping[str, Any], key: str, where: str, limit: int, *, lower: bool = False
) -> tuple[str, ...]:
    """An optional list of strings: trimmed, empties dropped, deduplicated in first-seen order."""
    value = doc.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad(f"{where}{key} must be an array of strings")
    if len(value) > limit:
        raise unprocessable(f"{where}{key} has {len(value)} entries; at most {limit} allowed")
    out: dict[str, None] = {}
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise bad(f"{where}{key}[{n}] must be a string")
        item = trim(item)
        if lower:
            item = item.lower()
        if item:
            out[item] = None
    return tuple(out)
