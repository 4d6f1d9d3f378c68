"""Framed Avro codec: wire layout, and a clear error for every bad input."""

from __future__ import annotations

import io
import re
import struct
from typing import Any

import fastavro
import pytest

from schemas.codec import AvroCodec, frame, from_json_bytes, schema_id_of, to_json_bytes
from schemas.errors import ContractError, DecodeError
from schemas.events import Exposure, ExposureItem, InvalidEventError, Item, Outcome
from schemas.registry import LOCAL_IDS, LocalRegistry, parsed_schema

CODEC = AvroCodec(LocalRegistry())

EXPOSURE = Exposure(
    "r1",
    "u1",
    "2025-01-01T00:00:00Z",
    (ExposureItem("i1", 1, logging_propensity=0.5), ExposureItem("i2", 2)),
    {"tenant": "t1", "surface": "home"},
    latency_ms=12.5,
)
OUTCOME = Outcome("r1", "u1", "i1", "click", "2025-01-01T00:00:10Z", 1.0)


def raw(schema: str, record: dict[str, Any], schema_id: int | None = None) -> bytes:
    """Framed Avro written straight by fastavro, bypassing the event checks."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema(schema), record)
    return frame(LOCAL_IDS[schema] if schema_id is None else schema_id, buf.getvalue())


def exposure_record(**changes: Any) -> dict[str, Any]:
    return {**EXPOSURE.to_avro(), **changes}


def item_record(**changes: Any) -> dict[str, Any]:
    return {**EXPOSURE.to_avro()["items"][0], **changes}


GOOD = CODEC.encode(EXPOSURE)

BAD_INPUTS: list[tuple[str, bytes, type[Exception], str]] = [
    (
        "json instead of avro",
        b'{"request_id":"x"}',
        DecodeError,
        r"^unknown magic byte 0x7b \(looks like JSON",
    ),
    ("wrong magic", b"\x01" + GOOD[1:], DecodeError, r"^unknown magic byte 0x01$"),
    ("empty", b"", DecodeError, r"record too short: 0 byte\(s\)"),
    ("header only half", b"\x00\x00\x00", DecodeError, r"record too short: 3 byte\(s\)"),
    ("unknown id", frame(9, GOOD[5:]), DecodeError, r"^schema id 9 unknown"),
    ("truncated body", GOOD[:-3], DecodeError, r"^truncated Avro body for exposure\.v1$"),
    ("header without body", GOOD[:5], DecodeError, r"^truncated Avro body for exposure\.v1$"),
    (
        "trailing bytes",
        GOOD + b"\x00\x00",
        DecodeError,
        r"^2 trailing byte\(s\) after the exposure\.v1",
    ),
    (
        "rank 0",
        raw("exposure.v1", exposure_record(items=[item_record(rank=0)])),
        InvalidEventError,
        r"\$\.items\[0\]\.rank: 0 is less than the minimum of 1",
    ),
    (
        "bad ts",
        raw("exposure.v1", exposure_record(ts="2025-13-01T00:00:00Z")),
        InvalidEventError,
        r"\$\.ts: '2025-13-01T00:00:00Z' is not a 'date-time'",
    ),
    (
        "ts without zone",
        raw("exposure.v1", exposure_record(ts="2025-01-01 00:00:00")),
        InvalidEventError,
        r"\$\.ts: .* is not a 'date-time'",
    ),
    (
        "empty request_id",
        raw("exposure.v1", exposure_record(request_id="")),
        InvalidEventError,
        r"\$\.request_id: '' should be non-empty",
    ),
    (
        "negative propensity",
        raw("exposure.v1", exposure_record(items=[item_record(propensity=-0.1)])),
        InvalidEventError,
        r"\$\.items\[0\]\.propensity: -0\.1 is less than the minimum of 0",
    ),
    (
        "NaN latency",
        raw("exposure.v1", exposure_record(latency_ms=float("nan"))),
        InvalidEventError,
        r"\$\.latency_ms: nan is not a finite number",
    ),
    (
        "enum index out of range",
        frame(LOCAL_IDS["outcome.v1"], b"\x02r\x02u\x02i\x0a\x00\x02Z"),
        DecodeError,
        r"Avro body for outcome\.v1",
    ),
    (
        "invalid utf-8 string",
        frame(LOCAL_IDS["ranklist.v1"], b"\x04\xff\xfe"),
        DecodeError,
        r"corrupt Avro body for ranklist\.v1: UnicodeDecodeError",
    ),
]


@pytest.mark.parametrize(
    ("data", "error", "pattern"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_records_fail_with_a_clear_reason(
    data: bytes, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error) as info:
        CODEC.decode(data)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert isinstance(info.value, ContractError)  # the dead-letter stage catches exactly this


def test_a_record_of_another_schema_is_rejected() -> None:
    with pytest.raises(
        DecodeError, match=r"^expected exposure\.v1, got outcome\.v1 \(schema id 2\)$"
    ):
        CODEC.decode(CODEC.encode(OUTCOME), expected="exposure.v1")


def test_invalid_reasons_are_all_listed() -> None:
    data = raw("exposure.v1", exposure_record(user_id="", items=[item_record(rank=0)]))
    with pytest.raises(InvalidEventError) as info:
        CODEC.decode(data)
    assert info.value.schema == "exposure.v1"
    assert len(info.value.reasons) == 2
    assert str(info.value).startswith("invalid exposure.v1: $.items[0].rank")


@pytest.mark.parametrize(
    "event",
    [
        Outcome("r1", "u1", "i1", "view", "2025-01-01T00:00:00Z"),
        Exposure("r1", "u1", "2025-01-01T00:00:00Z", (ExposureItem("i1", 0),)),
        Item("i1", "t1", ("",), True),
        Outcome("r1", "u1", "i1", "click", "yesterday"),
    ],
)
def test_nothing_invalid_is_encoded(event: Any) -> None:
    with pytest.raises(InvalidEventError):
        CODEC.encode(event)


@pytest.mark.parametrize("event", [EXPOSURE, OUTCOME, Item("i1", "t1", ("a",), True)])
def test_frame_is_magic_zero_then_big_endian_schema_id(event: Any) -> None:
    data = CODEC.encode(event)
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == LOCAL_IDS[event.SCHEMA]
    assert schema_id_of(data) == LOCAL_IDS[event.SCHEMA]


def test_outcome_bytes_match_a_hand_written_avro_encoding() -> None:
    # Avro: strings are zigzag-varint length + UTF-8, an enum is its index, the union
    # ["null","double"] is branch index 1 then little-endian IEEE double; fields in order.
    def s(text: str) -> bytes:
        return bytes([len(text) * 2]) + text.encode()

    expected = (
        b"\x00" + (2).to_bytes(4, "big")
        + s("r1") + s("u1") + s("i1")
        + b"\x00"  # event_type click = symbol 0
        + b"\x02" + struct.pack("<d", 1.0)  # value: union branch 1 (double)
        + s("2025-01-01T00:00:10Z")
    )  # fmt: skip
    assert CODEC.encode(OUTCOME) == expected


def test_ids_above_two_to_the_31_frame_as_unsigned() -> None:
    assert frame(2**32 - 1, b"")[1:] == b"\xff\xff\xff\xff"
    assert schema_id_of(frame(2**32 - 1, b"")) == 2**32 - 1


async def test_decode_async_with_the_local_registry() -> None:
    assert await CODEC.decode_async(GOOD, "exposure.v1") == EXPOSURE
    with pytest.raises(DecodeError, match="schema id 77 unknown"):
        await CODEC.decode_async(frame(77, b""))


def test_bytearray_and_memoryview_decode_like_bytes() -> None:
    assert CODEC.decode(bytearray(GOOD)) == EXPOSURE
    assert CODEC.decode(memoryview(GOOD)) == EXPOSURE


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b'{"request_id": ', r"^outcome\.v1: not valid JSON"),
        (b'{"request_id": "r1"}', r"^invalid outcome\.v1: \$: 'event_type' is a required property"),
    ],
)
def test_json_bytes_errors(data: bytes, pattern: str) -> None:
    with pytest.raises(ContractError, match=pattern):
        from_json_bytes("outcome.v1", data)


def test_json_bytes_round_trip() -> None:
    assert from_json_bytes("outcome.v1", to_json_bytes(OUTCOME)) == OUTCOME
