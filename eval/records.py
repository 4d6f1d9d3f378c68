"""Typed input records and their lenient decoding from parsed JSON (as the Go ``run``).

Decoding mirrors Go's ``encoding/json`` into structs: unknown keys are ignored,
``null`` and missing keys leave the zero value, a known key of the wrong JSON type
is an error, ``ts`` must be RFC 3339 and every ``context`` value must be a string
(spec §1.7). Errors are ``ValueError`` with a reason; readers add file and line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from eval.timeparse import parse_rfc3339

EMPTY_CONTEXT: Mapping[str, str] = {}


class ExposureItem(NamedTuple):
    """One ranked item of an exposure, with optional OPE propensities (§1.9).

    A NamedTuple rather than a frozen dataclass: it is just as immutable and typed,
    and builds ~2.5× faster, which matters at ten items per exposure line.
    """

    item_id: str
    rank: int
    propensity: float | None = None
    logging_propensity: float | None = None
    target_propensity: float | None = None


class Propensities(NamedTuple):
    """Per-position OPE propensity columns of an exposure (None where absent)."""

    propensity: tuple[float | None, ...]
    logging: tuple[float | None, ...]
    target: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Exposure:
    """What was served for one request (exposure.v1).

    Items are stored as columns (ids, ranks, optional propensities) in log order:
    it is much cheaper than one object per item at ten items per line. ``items``
    gives them back as ``ExposureItem`` rows; ``Exposure.of`` builds from rows.
    """

    request_id: str
    user_id: str
    ts: datetime | None
    item_ids: tuple[str, ...]
    ranks: tuple[int, ...]
    context: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float | None = None
    error: bool = False
    propensities: Propensities | None = None

    @classmethod
    def of(
        cls,
        request_id: str,
        user_id: str,
        ts: datetime | None,
        items: tuple[ExposureItem, ...],
        context: Mapping[str, str] = EMPTY_CONTEXT,
        latency_ms: float | None = None,
        error: bool = False,
    ) -> Exposure:
        """Build from item rows."""
        has_propensities = any(
            i.propensity is not None
            or i.logging_propensity is not None
            or i.target_propensity is not None
            for i in items
        )
        return cls(
            request_id,
            user_id,
            ts,
            tuple(i.item_id for i in items),
            tuple(i.rank for i in items),
            context,
            latency_ms,
            error,
            Propensities(
                tuple(i.propensity for i in items),
                tuple(i.logging_propensity for i in items),
                tuple(i.target_propensity for i in items),
            )
            if has_propensities
            else None,
        )

    @property
    def items(self) -> tuple[ExposureItem, ...]:
        """The items as rows, in log order."""
        props = self.propensities
        if props is None:
            return tuple(ExposureItem(i, r) for i, r in zip(self.item_ids, self.ranks, strict=True))
        return tuple(
            ExposureItem(*row)
            for row in zip(
                self.item_ids,
                self.ranks,
                props.propensity,
                props.logging,
                props.target,
                strict=True,
            )
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """A click or conversion attributed by request_id (outcome.v1)."""

    request_id: str
    user_id: str
    item_id: str
    event_type: str
    ts: datetime | None
    value: float = 0.0

    @property
    def kind(self) -> str:
        """The event type lower-cased: the Go code compares it case-insensitively."""
        return self.event_type.lower()


@dataclass(frozen=True, slots=True)
class Assignment:
    """The experiment arm of one request (assignment.v1)."""

    experiment_id: str
    variant: str
    request_id: str
    user_id: str
    ts: datetime | None
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RankList:
    """One ranker's ordered item ids for a request (ranklist.v1, interleaving input)."""

    request_id: str
    user_id: str
    ts: datetime | None
    items: tuple[str, ...]
    context: Mapping[str, str] = field(default_factory=dict)


def json_kind(value: Any) -> str:
    """A parsed JSON value described in JSON's terms (``null``, ``a number (7)``), for errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # not from JSON (a Parquet or Avro value)


def _obj(raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"{what} must be a JSON object, got {json_kind(raw)}")
    return raw


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {json_kind(value)}")
    return value


def _num(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {key!r} must be a number, got {json_kind(value)}")
    return float(value)


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {key!r} must be an integer, got {json_kind(value)}")
    return value


def _bool(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"field {key!r} must be a boolean, got {json_kind(value)}")
    return value


def _ts(obj: Mapping[str, Any]) -> datetime | None:
    value = obj.get("ts")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field 'ts' must be an RFC3339 string, got {json_kind(value)}")
    return parse_rfc3339(value)


def _context(obj: Mapping[str, Any]) -> Mapping[str, str]:
    value = obj.get("context")
    if value is None:
        return EMPTY_CONTEXT
    ctx = _obj(value, "field 'context'")
    if None in ctx.values():  # Go stores the zero value "" under the key
        ctx = {key: "" if item is None else item for key, item in ctx.items()}
    for key, item in ctx.items():
        if not isinstance(item, str):
            raise ValueError(f"context value {key!r} must be a string, got {json_kind(item)}")
    return ctx


_STR = frozenset({str})
_INT = frozenset({int})
_NONE = frozenset({type(None)})
_OPTIONAL_FLOAT = frozenset({type(None), float})
_PROPENSITY_KEYS = frozenset({"propensity", "logging_propensity", "target_propensity"})


def _column(rows: list[dict[str, Any]], key: str, allowed: frozenset[type]) -> tuple[Any, ...]:
    """One item field across the items; the checked helper only when a type is off.

    ``set(map(type, ...))`` runs in C: this is the hot path of every run.
    """
    values = [row.get(key) for row in rows]
    if set(map(type, values)) <= allowed:
        if allowed is _STR:  # item ids repeat across lines: one shared copy each saves memory
            return tuple(map(sys.intern, cast(list[str], values)))
        return tuple(values)
    if allowed is _STR:
        return tuple(_str(row, key) for row in rows)
    if allowed is _INT:
        return tuple(_int(row, key) for row in rows)
    return tuple(_num(row, key) for row in rows)


def _item_columns(
    obj: Mapping[str, Any],
) -> tuple[tuple[str, ...], tuple[int, ...], Propensities | None]:
    value = obj.get("items")
    if value is None:
        return (), (), None
    if not isinstance(value, list):
        raise ValueError(f"field 'items' must be an array, got {json_kind(value)}")
    if None in value:  # a null item is Go's zero item: no id, rank 0
        value = [{} if row is None else row for row in value]
    if not set(map(type, value)) <= {dict}:
        bad = next(row for row in value if type(row) is not dict)
        raise ValueError(f"each of 'items' must be a JSON object, got {json_kind(bad)}")
    ids: tuple[str, ...] = _column(value, "item_id", _STR)
    ranks: tuple[int, ...] = _column(value, "rank", _INT)
    if _PROPENSITY_KEYS.isdisjoint(set().union(*value)):  # most logs carry none
        return ids, ranks, None
    props = Propensities(
        _column(value, "propensity", _OPTIONAL_FLOAT),
        _column(value, "logging_propensity", _OPTIONAL_FLOAT),
        _column(value, "target_propensity", _OPTIONAL_FLOAT),
    )
    if all(set(map(type, column)) <= _NONE for column in props):
        return ids, ranks, None
    return ids, ranks, props


def exposure_from_json(raw: Any) -> Exposure:
    """Decode one parsed JSON document into an Exposure (lenient keys, strict types)."""
    obj = _obj(raw, "an exposure")
    ids, ranks, props = _item_columns(obj)
    return Exposure(
        request_id=_str(obj, "request_id"),
        user_id=_str(obj, "user_id"),
        ts=_ts(obj),
        item_ids=ids,
        ranks=ranks,
        context=_context(obj),
        latency_ms=_num(obj, "latency_ms"),
        error=_bool(obj, "error"),
        propensities=props,
    )


def outcome_from_json(raw: Any) -> Outcome:
    """Decode one parsed JSON document into an Outcome; a missing value reads as 0."""
    obj = _obj(raw, "an outcome")
    return Outcome(
        request_id=_str(obj, "request_id"),
        user_id=_str(obj, "user_id"),
        item_id=_str(obj, "item_id"),
        event_type=_str(obj, "event_type"),
        ts=_ts(obj),
        value=_num(obj, "value") or 0.0,
    )


def assignment_from_json(raw: Any) -> Assignment:
    """Decode one parsed JSON document into an Assignment."""
    obj = _obj(raw, "an assignment")
    return Assignment(
        experiment_id=_str(obj, "experiment_id"),
        variant=_str(obj, "variant"),
        request_id=_str(obj, "request_id"),
        user_id=_str(obj, "user_id"),
        ts=_ts(obj),
        context=_context(obj),
    )


def ranklist_from_json(raw: Any) -> RankList:
    """Decode one parsed JSON document into a RankList (items are id strings)."""
    obj = _obj(raw, "a ranklist")
    value = obj.get("items")
    items: list[str] = []
    if value is not None:
        if not isinstance(value, list):
            raise ValueError(f"field 'items' must be an array, got {json_kind(value)}")
        for item in value:
            if item is None:  # Go's zero value
                item = ""
            if not isinstance(item, str):
                raise ValueError(f"each of 'items' must be a string, got {json_kind(item)}")
            items.append(item)
    return RankList(
        request_id=_str(obj, "request_id"),
        user_id=_str(obj, "user_id"),
        ts=_ts(obj),
        items=tuple(items),
        context=_context(obj),
    )
