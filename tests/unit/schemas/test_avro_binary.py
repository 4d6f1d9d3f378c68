"""The compiled Avro encoder/decoder is byte-for-byte the Avro spec, held against fastavro."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import codec as codec_module
from schemas.avro_binary import compile_schema, read_long, zigzag
from schemas.codec import AvroCodec, compiled_schema
from schemas.errors import DecodeError
from schemas.events import event_from_json
from schemas.registry import LOCAL_IDS, avro_schema_doc, parsed_schema
from tests.unit.schemas.strategies import PROPERTY, QUICK, any_doc


def fastavro_body(schema: str, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema(schema), record)
    return buf.getvalue()


def test_every_contract_is_compiled() -> None:
    assert all(compiled_schema(name) is not None for name in LOCAL_IDS)


@PROPERTY
@given(any_doc)
def test_compiled_bytes_and_records_equal_fastavro(named: tuple[str, dict[str, Any]]) -> None:
    schema, doc = named
    record = event_from_json(schema, doc).to_avro()
    compiled = compiled_schema(schema)
    assert compiled is not None
    body = compiled.encode(record)
    assert body == fastavro_body(schema, record)
    decoded, end = compiled.read(body, 0)
    assert end == len(body)
    assert decoded == fastavro.schemaless_reader(io.BytesIO(body), parsed_schema(schema), None)


@QUICK
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_longs_round_trip_like_fastavro(n: int) -> None:
    schema = fastavro.parse_schema("long")
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, n)
    assert zigzag(n) == buf.getvalue()
    assert read_long(zigzag(n) + b"tail", 0) == (n, len(zigzag(n)))


@pytest.mark.parametrize(
    ("n", "encoded"), [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (-64, b"\x7f"), (64, b"\x80\x01")]
)
def test_zigzag_known_values(n: int, encoded: bytes) -> None:
    assert zigzag(n) == encoded


def test_longs_outside_64_bits_are_refused() -> None:
    with pytest.raises(OverflowError):
        zigzag(2**63)
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        read_long(b"\xff" * 11, 0)


def test_blocked_arrays_and_maps_with_byte_sizes_decode() -> None:
    # ranklist.v1 written by a blocking encoder: negative count, then the block's byte size
    def s(text: str) -> bytes:
        return zigzag(len(text)) + text.encode()

    body = s("r1") + s("u1") + s("2025-01-01T00:00:00Z")
    body += (
        zigzag(-2)
        + zigzag(len(s("i1") + s("i2")))
        + s("i1")
        + s("i2")
        + zigzag(1)
        + s("i3")
        + b"\x00"
    )
    body += b"\x02" + zigzag(-1) + zigzag(len(s("k") + s("v"))) + s("k") + s("v") + b"\x00"
    compiled = compiled_schema("ranklist.v1")
    assert compiled is not None
    record, end = compiled.read(body, 0)
    assert end == len(body)
    assert record["items"] == ["i1", "i2", "i3"] and record["context"] == {"k": "v"}
    assert record == fastavro.schemaless_reader(
        io.BytesIO(body), parsed_schema("ranklist.v1"), None
    )


@pytest.mark.parametrize(
    ("schema", "body", "pattern"),
    [
        (
            "item.v1",
            b"\x02i\x02t\x04",
            r"corrupt Avro body for item\.v1: ValueError: union branch byte 4",
        ),
        (
            "item.v1",
            b"\x02i\x02t\x00\x00\x00\x00\x07",
            r"corrupt Avro body for item\.v1: ValueError: boolean byte 7",
        ),
        (
            "ranklist.v1",
            b"\x03",
            r"corrupt Avro body for ranklist\.v1: ValueError: negative string length",
        ),
        ("outcome.v1", b"\x02r\x02u\x02i\x00\x02\x00\x00", r"truncated Avro body for outcome\.v1"),
        ("exposure.v1", b"\x02r\x02u\x02t\x02\x02i\x80", r"truncated Avro body for exposure\.v1"),
    ],
)
def test_corrupt_bodies_fail_clearly(schema: str, body: bytes, pattern: str) -> None:
    with pytest.raises(DecodeError, match=pattern):
        AvroCodec().decode(codec_module.frame(LOCAL_IDS[schema], body))


def test_schemas_with_other_shapes_are_left_to_fastavro(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        compile_schema({"type": "record", "name": "X", "fields": [{"name": "b", "type": "bytes"}]})
        is None
    )
    assert (
        compile_schema(
            {"type": "record", "name": "X", "fields": [{"name": "u", "type": ["string", "long"]}]}
        )
        is None
    )
    event = event_from_json(
        "exposure.v1",
        {
            "request_id": "r",
            "user_id": "u",
            "ts": "2025-01-01T00:00:00Z",
            "items": [{"item_id": "i", "rank": 3, "propensity": 0.25}],
        },
    )
    compiled_bytes = AvroCodec().encode(event)
    monkeypatch.setattr(codec_module, "compiled_schema", lambda name: None)
    assert AvroCodec().encode(event) == compiled_bytes
    assert AvroCodec().decode(compiled_bytes) == event


def test_the_compiler_reads_our_avsc_documents() -> None:
    assert compile_schema(avro_schema_doc("exposure.v1")) is not None
