"""``schemas.exposure_wire``: the same bytes as the typed codec, or None for what the
contract refuses (then the caller takes the typed path and its error)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import AvroCodec
from schemas.events import Exposure, ExposureItem
from schemas.exposure_wire import ExposureWriter
from schemas.registry import LocalRegistry
from tests.unit.schemas.strategies import PROPERTY, ids, labels, nonneg, rfc3339

CODEC = AvroCodec(LocalRegistry())
TS = "2026-11-24T03:00:00.123Z"


def typed(request_id: str, user_id: str, ts: str, items: list[str],
          context: dict[str, str] | None, latency: float | None,
          error: bool | None) -> bytes:
    event = Exposure(request_id, user_id, ts,
                     tuple(ExposureItem(i, n) for n, i in enumerate(items, start=1)),
                     context, latency, error)
    return CODEC.encode(event)


@PROPERTY
@given(request_id=ids, user_id=ids, ts=rfc3339(), items=st.lists(ids, max_size=30),
       context=st.none() | labels, latency=st.none() | nonneg, error=st.none() | st.booleans())
def test_the_body_is_the_typed_codec_s_bytes(request_id, user_id, ts, items, context,
                                              latency, error) -> None:
    writer = ExposureWriter(max_items=8, max_labels=4)  # small: the bounds get exercised
    for _ in range(2):  # cold, then with the ids and labels kept
        body = writer.body(request_id, user_id, ts, items, context, latency, error)
        assert body is not None
        assert CODEC.framed("exposure.v1", body) == typed(request_id, user_id, ts, items,
                                                          context, latency, error)
    assert len(writer._items) <= 8 and len(writer._labels) <= 4


def test_ranks_past_the_precomputed_table_and_a_multibyte_id() -> None:
    items = [f"ï{n}" for n in range(1100)]
    body = ExposureWriter().body("r", "u", TS, items, {"tenant_id": "t1"}, 0, None)
    assert body is not None
    assert CODEC.framed("exposure.v1", body) == typed("r", "u", TS, items,
                                                      {"tenant_id": "t1"}, 0, None)
    decoded = CODEC.decode(CODEC.framed("exposure.v1", body))
    assert isinstance(decoded, Exposure)
    assert [(i.item_id, i.rank) for i in decoded.items][-1] == ("ï1099", 1100)


@pytest.mark.parametrize("change", [
    {"request_id": ""}, {"user_id": ""}, {"request_id": 7}, {"ts": "yesterday"},
    {"ts": "2026-13-01T00:00:00Z"}, {"items": ["a", ""]}, {"items": ["a", None]},
    {"context": {"k": 1}}, {"context": {2: "v"}}, {"latency": -0.5},
    {"latency": math.inf}, {"latency": math.nan}, {"latency": True}, {"latency": "1"},
    {"error": 0}, {"error": "no"},
])
def test_values_the_contract_refuses_give_none(change: dict[str, object]) -> None:
    values: dict[str, object] = {"request_id": "r", "user_id": "u", "ts": TS,
                                 "items": ["a"], "context": None, "latency": None,
                                 "error": None}
    assert ExposureWriter().body(*values.values()) is not None  # type: ignore[arg-type]
    values.update(change)
    assert ExposureWriter().body(*values.values()) is None  # type: ignore[arg-type]
