"""The states the stages keep as objects reach the changelog as their JSON, and come back."""

from __future__ import annotations

import orjson
import pytest

from schemas.events import Outcome
from streams.attribution import RequestState
from streams.history import UserState
from streams.state_json import state_json

PARKED = Outcome.from_json(
    {
        "request_id": "r1",
        "user_id": "u1",
        "item_id": "i1",
        "event_type": "click",
        "ts": "2025-01-01T00:00:10Z",
    }
)


def test_a_request_value_is_written_as_its_state_json_and_read_back_equal() -> None:
    state = RequestState(None, None, None, (PARKED, PARKED))
    raw = state_json([state, 7, None])
    doc = orjson.loads(raw)
    assert doc == [state.to_json(), 7, None]
    assert RequestState.from_json(doc[0]) == state
    assert RequestState.from_json(state) is state  # a value the stage kept as is


def test_a_user_value_is_written_as_its_state_json_and_read_back_equal() -> None:
    state = UserState((("b", 20), ("a", 10)), {("home", 3): ("a", "b")})
    doc = orjson.loads(state_json(state))
    assert doc == {"r": [["b", 20], ["a", 10]], "s": [["home", 3, ["a", "b"]]]}
    assert UserState.from_json(doc) == state
    assert UserState.from_json(state) is state


def test_plain_values_are_plain_json_and_other_objects_are_refused() -> None:
    assert state_json([3, 12]) == b"[3,12]"
    with pytest.raises(TypeError):
        state_json([object()])
