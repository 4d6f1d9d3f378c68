"""JSON text read as Go's ``encoding/json`` reads it: bad Unicode becomes U+FFFD.

Go's decoder does not reject a string holding invalid UTF-8 or a lone surrogate
escape; it writes U+FFFD in its place (``unquote`` in decode.go): each byte that
does not start a valid UTF-8 sequence is one U+FFFD, and a ``\\uD800``–``\\uDFFF``
escape that is not a high surrogate directly followed by a low one is one U+FFFD
(the escape after an unpaired high surrogate is read on its own). orjson rejects
both, so ``loads`` repairs the text the same way and parses it again.

``unicode_problem`` names the first of them, for ``validate``'s strict check.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import orjson

_HANDLER = "recsys-eval-go-replace"


def _one_per_byte(error: UnicodeError) -> tuple[str, int]:
    # Python flags a maximal invalid subpart at once; Go's utf8.DecodeRune gives up
    # after one byte each time, so the subpart costs one U+FFFD per byte.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error(_HANDLER, _one_per_byte)

# An escaped backslash (skipped, so "\\ud800" stays text), a valid surrogate pair
# (kept), or a lone surrogate escape (replaced). Backslashes occur only in strings.
_ESCAPES = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _escape(match: re.Match[str]) -> str:
    text = match.group()
    return text if len(text) in (2, 12) else "\\ufffd"


def go_text(raw: bytes) -> str:
    """The line with invalid UTF-8 bytes and lone surrogate escapes as U+FFFD (Go's reading)."""
    text = raw.decode("utf-8", errors=_HANDLER)
    return _ESCAPES.sub(_escape, text) if "\\" in text else text


def loads(raw: bytes) -> Any:
    """``orjson.loads``, but bad Unicode in strings reads as U+FFFD, as in Go.

    Raises ``orjson.JSONDecodeError`` for text that is not JSON either way (the error
    of the repaired text, so it names the real fault).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        repaired = go_text(raw)
        if repaired.encode("utf-8") == raw:
            raise
    return orjson.loads(repaired)


def unicode_problem(raw: bytes) -> str | None:
    """What ``loads`` would replace first: an invalid UTF-8 byte or a lone surrogate
    escape, with its 1-based byte position in the line; None when there is neither."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8: byte 0x{raw[error.start]:02x} at byte {error.start + 1}"
    for match in _ESCAPES.finditer(text):
        if _escape(match) != match.group():
            at = len(text[: match.start()].encode("utf-8")) + 1
            return f"lone surrogate escape {match.group()} at byte {at} (not a Unicode character)"
    return None
