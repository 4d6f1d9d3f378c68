"""JSON text as Go's ``json.MarshalIndent(v, "", "  ")`` writes it, for byte-compatible reports.

Numbers (``encoding/json`` floatEncoder): a float64 is written with the shortest
digits that round-trip, in positional form (``'f'``) when 1e-6 <= |x| < 1e21 or
x == 0, else in exponent form (``'e'``) with a one-digit negative exponent
cleaned up (``1e-07`` → ``1e-7``; ``1e+21`` stays). So an integral float prints as
an integer and ``2.3148148148148147e-05`` as ``0.000023148148148148147``. Go
refuses NaN and ±Inf; we write ``null`` for them, as this writer always has.

Strings: ``"`` and ``\\`` are escaped, ``\\b \\f \\n \\r \\t`` get their short
escapes and other control characters ``\\u00XX``; HTML-sensitive ``< > &`` and the
JavaScript line separators U+2028/U+2029 become ``\\u003c \\u003e \\u0026
\\u2028 \\u2029`` (MarshalIndent escapes HTML). Other non-ASCII stays UTF-8. A
lone surrogate (not representable in Go's UTF-8 strings) is written ``\\ufffd``,
as Go writes invalid UTF-8.

Objects keep their key order (our reports are built in the order Go's structs
declare their fields); an empty object or array is ``{}`` / ``[]``.
"""

from __future__ import annotations

import math
import numbers
import re
from decimal import Decimal
from typing import Any

INDENT = "  "

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    if "\ud800" <= char <= "\udfff":
        return "\\ufffd"
    return f"\\u{ord(char):04x}"


def go_string(text: str) -> str:
    """A JSON string literal as Go's encoder (HTML escaping on) writes it."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def go_float(value: float) -> str:
    """A finite float64 as Go's encoding/json writes it (see the module docstring)."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        # repr: shortest round-trip digits, and in this range always Go's 'e' layout
        # (mantissa, 'e', sign, at least two exponent digits)
        text = repr(value)
        if text[-4:-1] == "e-0":  # Go's clean-up: e-07 → e-7
            text = text[:-2] + text[-1]
        return text
    # repr holds the shortest round-trip digits; Decimal lays them out without exponent
    return format(Decimal(repr(value)).normalize(), "f")


def _encode(value: Any, out: list[str], depth: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(go_string(value))
    elif isinstance(value, float):
        out.append(go_float(value) if math.isfinite(value) else "null")
    elif isinstance(value, numbers.Integral):
        out.append(str(int(value)))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + INDENT * (depth + 1)
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
            out.append(("," if index else "") + inner + go_string(key) + ": ")
            _encode(item, out, depth + 1)
        out.append("\n" + INDENT * depth + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = "\n" + INDENT * (depth + 1)
        out.append("[")
        for index, item in enumerate(value):
            out.append(("," if index else "") + inner)
            _encode(item, out, depth + 1)
        out.append("\n" + INDENT * depth + "]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def marshal_indent(value: Any) -> str:
    """``json.MarshalIndent(value, "", "  ")`` (no trailing newline)."""
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out)
