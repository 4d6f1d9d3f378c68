"""JSON → typed event → framed Avro → typed event → JSON leaves every valid example unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given

from schemas.codec import AvroCodec, from_json_bytes, to_json_bytes
from schemas.events import EVENT_CLASSES, Exposure, event_from_json
from schemas.validation import schema_errors
from tests.unit.schemas.strategies import PROPERTY, TINY, TINY_FILES, any_doc

CODEC = AvroCodec()


def tiny_lines() -> list[tuple[str, str, str]]:
    out = []
    for filename, schema in TINY_FILES.items():
        lines = (TINY / filename).read_text(encoding="utf-8").splitlines()
        out += [
            (f"{filename}:{n}", schema, line) for n, line in enumerate(lines, 1) if line.strip()
        ]
    return out


TINY_LINES = tiny_lines()


def test_the_tiny_dataset_is_there_and_covers_four_schemas() -> None:
    assert len(TINY_LINES) == 15
    assert {schema for _, schema, _ in TINY_LINES} == {
        "exposure.v1",
        "outcome.v1",
        "assignment.v1",
        "ranklist.v1",
    }


@pytest.mark.parametrize(("where", "schema", "line"), TINY_LINES, ids=[w for w, _, _ in TINY_LINES])
def test_tiny_examples_round_trip_to_the_same_text(where: str, schema: str, line: str) -> None:
    event = from_json_bytes(schema, line)
    data = CODEC.encode(event)
    back = CODEC.decode(data, expected=schema)
    assert back == event
    assert to_json_bytes(back) == line.encode("utf-8")  # byte for byte, key order included


@PROPERTY
@given(any_doc)
def test_generated_events_round_trip(named: tuple[str, dict[str, Any]]) -> None:
    schema, doc = named
    assert schema_errors(schema, doc) == []
    event = event_from_json(schema, doc)
    back = CODEC.decode(CODEC.encode(event), expected=schema)
    assert back == event
    assert back.to_json() == doc  # JSON numbers compare by value: 1 == 1.0
    # one normalization at most: integral floats print as integers, then the text is stable
    assert to_json_bytes(
        event_from_json(schema, orjson.loads(to_json_bytes(back)))
    ) == to_json_bytes(back)
    assert type(back) is EVENT_CLASSES[schema]


def test_extra_keys_inside_exposure_items_are_valid_but_dropped() -> None:
    doc = {
        "request_id": "r1",
        "user_id": "u1",
        "ts": "2025-01-01T00:00:00Z",
        "items": [{"item_id": "i1", "rank": 1, "score": 0.7}],
    }
    assert schema_errors("exposure.v1", doc) == []
    event = Exposure.from_json(doc)
    assert event.to_json()["items"] == [{"item_id": "i1", "rank": 1}]
    assert CODEC.decode(CODEC.encode(event)).to_json()["items"] == [{"item_id": "i1", "rank": 1}]
