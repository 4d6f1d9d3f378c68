"""Typed events: JSON validation table, keys, timestamps, and the fast check's agreement."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.errors import ConfigError, ContractError
from schemas.events import (
    EVENT_CLASSES,
    Assignment,
    Exposure,
    ExposureItem,
    InvalidEventError,
    Item,
    Outcome,
    RankList,
    event_class,
    event_from_json,
)
from schemas.validation import SCHEMA_NAMES, schema_errors
from tests.unit.schemas.strategies import PROPERTY, any_doc

EXPOSURE = {
    "request_id": "r1",
    "user_id": "u1",
    "ts": "2025-01-01T00:00:00Z",
    "items": [{"item_id": "i1", "rank": 1}],
    "context": {"tenant": "t1"},
}
OUTCOME = {
    "request_id": "r1",
    "user_id": "u1",
    "item_id": "i1",
    "event_type": "click",
    "ts": "2025-01-01T00:00:10Z",
}

BAD_DOCS: list[tuple[str, str, Any, str]] = [
    (
        "bad ts",
        "exposure.v1",
        {**EXPOSURE, "ts": "2025-01-01T25:00:00Z"},
        r"\$\.ts: .* is not a 'date-time'",
    ),
    (
        "missing field",
        "exposure.v1",
        {k: v for k, v in EXPOSURE.items() if k != "items"},
        r"\$: 'items' is a required property",
    ),
    (
        "extra field",
        "outcome.v1",
        {**OUTCOME, "score": 1},
        r"\$: Additional properties are not allowed \('score' was unexpected\)",
    ),
    (
        "non-string context value",
        "exposure.v1",
        {**EXPOSURE, "context": {"k": 1}},
        r"\$\.context\.k: 1 is not of type 'string'",
    ),
    (
        "rank 0",
        "exposure.v1",
        {**EXPOSURE, "items": [{"item_id": "i1", "rank": 0}]},
        r"\$\.items\[0\]\.rank: 0 is less than the minimum of 1",
    ),
    (
        "rank not an integer",
        "exposure.v1",
        {**EXPOSURE, "items": [{"item_id": "i1", "rank": 1.5}]},
        r"\$\.items\[0\]\.rank: 1\.5 is not of type 'integer'",
    ),
    (
        "unknown event_type",
        "outcome.v1",
        {**OUTCOME, "event_type": "view"},
        r"\$\.event_type: 'view' is not one of \['click', 'conversion'\]",
    ),
    (
        "boolean value",
        "outcome.v1",
        {**OUTCOME, "value": True},
        r"\$\.value: True is not of type 'number'",
    ),
    (
        "NaN value",
        "outcome.v1",
        {**OUTCOME, "value": float("nan")},
        r"\$\.value: nan is not a finite number",
    ),
    ("not an object", "assignment.v1", ["r1"], r"\$: \['r1'\] is not of type 'object'"),
    (
        "empty ranklist item",
        "ranklist.v1",
        {"request_id": "r", "user_id": "u", "ts": "2025-01-01T00:00:00Z", "items": [""]},
        r"\$\.items\[0\]: '' should be non-empty",
    ),
    (
        "item without tags",
        "item.v1",
        {"item_id": "i", "tenant": "t", "available": True},
        r"\$: 'tags' is a required property",
    ),
    (
        "negative price",
        "item.v1",
        {"item_id": "i", "tenant": "t", "tags": [], "available": True, "price": -1},
        r"\$\.price: -1 is less than the minimum of 0",
    ),
]


@pytest.mark.parametrize(
    ("schema", "doc", "pattern"), [b[1:] for b in BAD_DOCS], ids=[b[0] for b in BAD_DOCS]
)
def test_invalid_documents_fail_with_their_reason(schema: str, doc: Any, pattern: str) -> None:
    with pytest.raises(InvalidEventError) as info:
        event_from_json(schema, doc)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert str(info.value).startswith(f"invalid {schema}: ")


def test_unknown_schema_names_list_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown schema 'click\.v1'; known: exposure\.v1, outcome\.v1"
    ):
        event_class("click.v1")
    assert set(EVENT_CLASSES) == set(SCHEMA_NAMES)


def test_keys_are_request_id_or_item_id() -> None:
    assert Exposure.from_json(EXPOSURE).key() == "r1"
    assert Outcome.from_json(OUTCOME).key() == "r1"
    assert Assignment("e", "A", "r7", "u", "2025-01-01T00:00:00Z").key() == "r7"
    assert RankList("r8", "u", "2025-01-01T00:00:00Z", ("i1",)).key() == "r8"
    assert Item("i9", "t1", (), True).key() == "i9"


def test_timestamp_ms_is_utc_epoch_milliseconds() -> None:
    assert Exposure.from_json(EXPOSURE).timestamp_ms == 1_735_689_600_000
    assert (
        Outcome.from_json({**OUTCOME, "ts": "2025-01-01T02:00:10.25+02:00"}).timestamp_ms
        == 1_735_689_610_250
    )
    assert Item("i", "t", (), True).timestamp_ms is None
    assert Item("i", "t", (), True, created_at="1970-01-01T00:00:01Z").timestamp_ms == 1000


def test_lists_given_for_tuples_are_frozen_into_tuples() -> None:
    event = Exposure("r", "u", "2025-01-01T00:00:00Z", [ExposureItem("i", 1)])  # type: ignore[arg-type]
    assert event.items == (ExposureItem("i", 1),)
    assert Item("i", "t", ["a"], True).tags == ("a",)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.user_id = "other"  # type: ignore[misc]


def test_check_returns_the_event_or_raises_a_contract_error() -> None:
    good = Outcome.from_json(OUTCOME)
    assert good.check() is good
    with pytest.raises(ContractError, match=r"\$\.item_id: '' should be non-empty"):
        dataclasses.replace(good, item_id="").check()
    wrong_type = Outcome("r", "u", 5, "click", "2025-01-01T00:00:00Z")  # type: ignore[arg-type]
    assert wrong_type.errors() == ["$.item_id: 5 is not of type 'string'"]


BREAKERS: dict[str, list[Any]] = {
    "str": ["", 0, None],
    "num": [-1.0, -1, float("nan"), float("inf"), True, "1"],
    "ts": ["2025-02-30T00:00:00Z", "2025-01-01t00:00:00z", "2025-01-01T00:00:60Z", 17],
}


def _field_kind(name: str, value: Any) -> str | None:
    if name in ("ts", "created_at"):
        return "ts"
    if isinstance(value, str):
        return "str"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return "num"
    return None


@PROPERTY
@given(any_doc, st.data())
def test_the_fast_check_never_disagrees_with_the_json_schema(
    named: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    schema, doc = named
    event = event_from_json(schema, doc)
    fields = [(f.name, getattr(event, f.name)) for f in dataclasses.fields(event)]
    breakable = [(n, k) for n, v in fields if (k := _field_kind(n, v)) is not None]
    if breakable and data.draw(st.booleans()):
        name, kind = data.draw(st.sampled_from(breakable))
        event = dataclasses.replace(event, **{name: data.draw(st.sampled_from(BREAKERS[kind]))})
    if isinstance(event, Exposure) and event.items and data.draw(st.booleans()):
        bad_item = dataclasses.replace(
            event.items[0], rank=data.draw(st.sampled_from([0, -3, 2.0]))
        )
        event = dataclasses.replace(event, items=(bad_item, *event.items[1:]))
    json_ok = schema_errors(schema, event.to_json()) == [] and not any(
        isinstance(v, float) and v != v or v in (float("inf"), float("-inf"))
        for v in _numbers(event)
    )
    assert (event.errors() == []) == json_ok
    if event._fast_valid():
        assert json_ok


def _numbers(event: Any) -> list[Any]:
    values = [getattr(event, f.name) for f in dataclasses.fields(event)]
    if isinstance(event, Exposure):
        for item in event.items:
            values += [item.propensity, item.logging_propensity, item.target_propensity]
    return values
