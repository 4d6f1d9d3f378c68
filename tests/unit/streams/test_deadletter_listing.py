"""A dead-letter record as ``recsys dead-letters`` lists it."""

from __future__ import annotations

from streams.deadletter import DeadLetter, listing


def test_a_listing_names_the_source_and_reason_and_shows_text_or_base64() -> None:
    letter = DeadLetter(b"r-1", b"\x00\xff", "unknown magic byte 0x00", "recsys.exposures.v1",
                        3, 42, "exposure.v1")
    assert listing(letter.key, letter.value, letter.headers()) == {
        "topic": "recsys.exposures.v1", "partition": 3, "offset": 42, "schema": "exposure.v1",
        "reason": "unknown magic byte 0x00", "key": "r-1", "value_base64": "AP8=",
    }


def test_a_tombstone_and_missing_headers_list_as_nulls() -> None:
    assert listing(None, None, [("other", b"x")]) == {
        "topic": "", "partition": None, "offset": None, "schema": "", "reason": "",
        "key": None, "value": None,
    }
    assert listing(b"k", b'{"a":1}', [("recsys.dlq.offset", b"x7")])["value"] == '{"a":1}'
    assert listing(b"k", b"", [("recsys.dlq.offset", b"x7")])["offset"] is None
