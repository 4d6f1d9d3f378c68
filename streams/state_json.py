"""A table value's changelog bytes when a stage keeps its states in the table as objects.

The request and user stages (``streams.stages``) and the live join
(``streams.live.partition``) keep each request's or user's state as its object in their
tables' local stores, decoded once rather than at every event; the changelog holds its
JSON (``to_json``), written once per batch, and a value recovered from it holds the JSON
again (each state's ``from_json`` / ``of`` takes either form).
"""

from __future__ import annotations

from typing import Any

import orjson


def state_json(value: Any) -> bytes:
    """JSON of a table value, with every state object in it written as its ``to_json()``
    (orjson would write a dataclass field by field)."""
    return orjson.dumps(value, default=_doc, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def _doc(obj: object) -> Any:
    to_json = getattr(obj, "to_json", None)
    if to_json is None:
        raise TypeError(f"not JSON: {type(obj).__name__}")
    return to_json()
