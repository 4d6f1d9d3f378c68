"""Bad Unicode in JSONL strings reads as Go's encoding/json reads it (U+FFFD), not as an error.

Expected values follow Go's decode.go ``unquote``: every byte that does not start a
valid UTF-8 sequence is one U+FFFD (utf8.DecodeRune gives up after one byte); a
\\uD800–\\uDFFF escape that is not a high surrogate followed by a low one is one
U+FFFD, and the escape after an unpaired high surrogate is read on its own.
"""

from __future__ import annotations

import orjson
import pytest

from eval.jsontext import loads, unicode_problem
from eval.records import exposure_from_json, ranklist_from_json

CASES = [
    ("invalid byte", b'{"a":"x\xffy"}', "x\ufffdy"),
    # E2 82 starts a 3-byte sequence that 'A' cuts short: E2 and 82 are one U+FFFD each
    ("truncated sequence", b'{"a":"\xe2\x82A"}', "\ufffd\ufffdA"),
    # a surrogate encoded in UTF-8 (CESU-8) is invalid UTF-8: ED, A0, 80 one each
    ("encoded surrogate", b'{"a":"\xed\xa0\x80"}', "\ufffd" * 3),
    ("lone high surrogate escape", b'{"a":"x\\ud800y"}', "x\ufffdy"),
    ("lone low surrogate escape", b'{"a":"\\udc00"}', "\ufffd"),
    ("valid pair", b'{"a":"\\ud800\\udc00"}', "\U00010000"),
    ("high then a pair", b'{"a":"\\ud800\\ud83d\\ude00"}', "\ufffd\U0001f600"),
    ("escaped backslash is text", b'{"a":"\\\\ud800"}', "\\ud800"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_unicode_reads_as_replacement_characters(raw: bytes, expected: str) -> None:
    assert loads(raw)["a"] == expected


def test_text_that_is_not_json_still_fails() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        loads(b'{"a":"\xff"')
    with pytest.raises(orjson.JSONDecodeError):
        loads(b"{not json")


def test_unicode_problem_names_the_first_fault_and_its_byte() -> None:
    assert unicode_problem(b'{"a":"x\xffy"}') == "invalid UTF-8: byte 0xff at byte 8"
    # é is two bytes, so the escape starts at byte 9
    assert unicode_problem('{"a":"é\\udc00"}'.encode()) == (
        "lone surrogate escape \\udc00 at byte 9 (not a Unicode character)"
    )
    assert unicode_problem(b'{"a":"\\\\ud800\\ud83d\\ude00"}') is None


def test_null_context_value_and_null_items_read_as_zero_values() -> None:
    """Go decodes null into a map[string]string element or a struct as the zero value."""
    exposure = exposure_from_json(
        {"request_id": "r1", "items": [None, {"item_id": "a", "rank": 2}], "context": {"t": None}}
    )
    assert exposure.context == {"t": ""}
    assert exposure.item_ids == ("", "a") and exposure.ranks == (0, 2)
    assert ranklist_from_json({"request_id": "r1", "items": ["a", None]}).items == ("a", "")
