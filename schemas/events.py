"""Typed events: one frozen dataclass per contract (``exposure.v1`` ... ``item.v1``).

Every class converts both ways to the JSON document of its JSON Schema (``to_json`` /
``from_json``) and to the record of its Avro twin (``to_avro`` / ``from_avro``).

Rules that hold for all of them:

- ``from_json`` validates the document with the JSON Schema (draft-07, format assertion)
  and raises ``InvalidEventError`` (a ``ContractError``) listing every reason.
- ``to_json`` omits ``None`` fields and returns plain JSON values; keys come in the order
  of the schema's ``properties``. Numbers are carried as ``float`` (Avro ``double``); an
  integral number is written back as a JSON integer (``1`` not ``1.0``, as Go and
  JavaScript print it), so a JSON line round-trips to the same text.
- ``ts`` (and ``Item.created_at``) stay the exact RFC 3339 string the producer wrote;
  ``timestamp_ms`` parses it to epoch milliseconds (UTC).
- Extra keys inside the item objects of an exposure are allowed by ``exposure.v1`` (its
  item objects do not set ``additionalProperties: false``) but Avro cannot carry them:
  **the typed ``ExposureItem`` drops them.** Only ``item_id``, ``rank`` and the three
  propensities survive ``from_json``.
- ``check()`` raises when an event built directly in Python breaks its schema, and the
  codec calls it before encoding and after decoding. Non-finite numbers (NaN, ±inf),
  which JSON cannot carry, are rejected too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from schemas.errors import ConfigError, ContractError
from schemas.timestamps import is_rfc3339, rfc3339_to_ms
from schemas.validation import schema_errors

EVENT_TYPES: tuple[str, ...] = ("click", "conversion")
"""The ``outcome.v1`` ``event_type`` enum."""

_MAX_EXACT_INT = 2**53


class InvalidEventError(ContractError):
    """An event breaks its schema; ``reasons`` lists every violation as ``$.path: message``."""

    def __init__(self, schema: str, reasons: Sequence[str]) -> None:
        self.schema = schema
        self.reasons = tuple(reasons)
        super().__init__(f"invalid {schema}: " + "; ".join(self.reasons))


def _jnum(value: float | None) -> Any:
    """A number as JSON writes it: integral finite floats become ints (``1.0`` → ``1``)."""
    if type(value) is float and value.is_integer() and abs(value) < _MAX_EXACT_INT:
        return int(value)
    return value


def _fnum(value: Any) -> float | None:
    """A JSON number (already validated) as ``float``; ``None`` stays ``None``."""
    return None if value is None else float(value)


def _is_str(value: Any) -> bool:
    return type(value) is str and value != ""


def _is_num(value: Any, minimum: float | None = 0.0) -> bool:
    if type(value) is float or type(value) is int:
        return math.isfinite(value) and (minimum is None or value >= minimum)
    return False


def _opt_num(value: Any, minimum: float | None = 0.0) -> bool:
    return value is None or _is_num(value, minimum)


def _is_context(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and all(type(k) is str and type(v) is str for k, v in value.items())
    )


def _nonfinite(path: str, value: Any) -> Iterator[str]:
    if type(value) is float and not math.isfinite(value):
        yield f"{path}: {value!r} is not a finite number"


class _Event:
    """Behaviour shared by all event classes; subclasses are frozen slotted dataclasses."""

    __slots__ = ()
    SCHEMA: ClassVar[str]

    # -- per class -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The JSON document of this event (``None`` fields omitted)."""
        raise NotImplementedError

    def to_avro(self) -> dict[str, Any]:
        """The record for the Avro twin schema (every field present, ``None`` for absent)."""
        raise NotImplementedError

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Self:
        """Build from a record decoded with the Avro twin (no validation; see ``check``)."""
        raise NotImplementedError

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> Self:
        raise NotImplementedError

    def key(self) -> str:
        """The Kafka record key: ``request_id`` (``item_id`` for items)."""
        raise NotImplementedError

    def _fast_valid(self) -> bool:
        """Cheap check; True only if the JSON Schema would accept ``to_json()``."""
        raise NotImplementedError

    def _number_reasons(self) -> Iterator[str]:
        return iter(())

    # -- shared --------------------------------------------------------------------------
    @classmethod
    def from_json(cls, doc: Any) -> Self:
        """Validate ``doc`` against the JSON Schema and build the event.

        Raises ``InvalidEventError`` with every reason when the document is invalid.
        """
        reasons = schema_errors(cls.SCHEMA, doc)
        if reasons:
            raise InvalidEventError(cls.SCHEMA, reasons)
        event = cls._from_valid_json(doc)
        event.check()
        return event

    def errors(self) -> list[str]:
        """Every reason this event breaks its schema (empty when valid)."""
        if self._fast_valid():
            return []
        try:
            doc = self.to_json()
        except (TypeError, ValueError, AttributeError) as exc:
            return [f"$: not convertible to JSON: {exc}"]
        return schema_errors(self.SCHEMA, doc) + list(self._number_reasons())

    def check(self) -> Self:
        """Return ``self`` if valid, else raise ``InvalidEventError``."""
        reasons = self.errors()
        if reasons:
            raise InvalidEventError(self.SCHEMA, reasons)
        return self


@dataclass(frozen=True, slots=True)
class ExposureItem:
    """One ranked item of an exposure (extra JSON keys are dropped, see module docstring)."""

    item_id: str
    rank: int
    propensity: float | None = None
    logging_propensity: float | None = None
    target_propensity: float | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"item_id": self.item_id, "rank": self.rank}
        if self.propensity is not None:
            doc["propensity"] = _jnum(self.propensity)
        if self.logging_propensity is not None:
            doc["logging_propensity"] = _jnum(self.logging_propensity)
        if self.target_propensity is not None:
            doc["target_propensity"] = _jnum(self.target_propensity)
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "rank": self.rank,
            "propensity": self.propensity,
            "logging_propensity": self.logging_propensity,
            "target_propensity": self.target_propensity,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ExposureItem:
        """Build from an (already validated) item object; extra keys are dropped."""
        return cls(
            doc["item_id"],
            int(doc["rank"]),  # draft-07 counts 2.0 as an integer; Avro needs an int
            _fnum(doc.get("propensity")),
            _fnum(doc.get("logging_propensity")),
            _fnum(doc.get("target_propensity")),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.item_id)
            and type(self.rank) is int
            and self.rank >= 1
            and _opt_num(self.propensity)
            and _opt_num(self.logging_propensity)
            and _opt_num(self.target_propensity)
        )


@dataclass(frozen=True, slots=True)
class Exposure(_Event):
    """``exposure.v1``: one ranked list served for one request."""

    SCHEMA: ClassVar[str] = "exposure.v1"

    request_id: str
    user_id: str
    ts: str
    items: tuple[ExposureItem, ...]
    context: dict[str, str] | None = None
    latency_ms: float | None = None
    error: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.items, list):
            object.__setattr__(self, "items", tuple(self.items))

    @property
    def timestamp_ms(self) -> int:
        """``ts`` as epoch milliseconds (UTC)."""
        return rfc3339_to_ms(self.ts)

    def key(self) -> str:
        return self.request_id

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
            "items": [item.to_json() for item in self.items],
        }
        if self.context is not None:
            doc["context"] = dict(self.context)
        if self.latency_ms is not None:
            doc["latency_ms"] = _jnum(self.latency_ms)
        if self.error is not None:
            doc["error"] = self.error
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
            "items": [item.to_avro() for item in self.items],
            "context": self.context,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Exposure:
        return cls(
            record["request_id"],
            record["user_id"],
            record["ts"],
            tuple(
                ExposureItem(
                    i["item_id"],
                    i["rank"],
                    i["propensity"],
                    i["logging_propensity"],
                    i["target_propensity"],
                )
                for i in record["items"]
            ),
            record["context"],
            record["latency_ms"],
            record["error"],
        )

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> Exposure:
        context = doc.get("context")
        return cls(
            doc["request_id"],
            doc["user_id"],
            doc["ts"],
            tuple(ExposureItem.from_json(i) for i in doc["items"]),
            None if context is None else dict(context),
            _fnum(doc.get("latency_ms")),
            doc.get("error"),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.request_id)
            and _is_str(self.user_id)
            and type(self.ts) is str
            and is_rfc3339(self.ts)
            and isinstance(self.items, tuple | list)
            and all(type(i) is ExposureItem and i._fast_valid() for i in self.items)
            and _is_context(self.context)
            and _opt_num(self.latency_ms)
            and (self.error is None or type(self.error) is bool)
        )

    def _number_reasons(self) -> Iterator[str]:
        for n, item in enumerate(self.items):
            if isinstance(item, ExposureItem):
                for name in ("propensity", "logging_propensity", "target_propensity"):
                    yield from _nonfinite(f"$.items[{n}].{name}", getattr(item, name))
        yield from _nonfinite("$.latency_ms", self.latency_ms)


@dataclass(frozen=True, slots=True)
class Outcome(_Event):
    """``outcome.v1``: a click or conversion on an item of a request."""

    SCHEMA: ClassVar[str] = "outcome.v1"

    request_id: str
    user_id: str
    item_id: str
    event_type: str
    ts: str
    value: float | None = None

    @property
    def timestamp_ms(self) -> int:
        """``ts`` as epoch milliseconds (UTC)."""
        return rfc3339_to_ms(self.ts)

    def key(self) -> str:
        return self.request_id

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "item_id": self.item_id,
            "event_type": self.event_type,
        }
        if self.value is not None:
            doc["value"] = _jnum(self.value)
        doc["ts"] = self.ts
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "item_id": self.item_id,
            "event_type": self.event_type,
            "value": self.value,
            "ts": self.ts,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Outcome:
        return cls(
            record["request_id"],
            record["user_id"],
            record["item_id"],
            record["event_type"],
            record["ts"],
            record["value"],
        )

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> Outcome:
        return cls(
            doc["request_id"],
            doc["user_id"],
            doc["item_id"],
            doc["event_type"],
            doc["ts"],
            _fnum(doc.get("value")),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.request_id)
            and _is_str(self.user_id)
            and _is_str(self.item_id)
            and self.event_type in EVENT_TYPES
            and type(self.ts) is str
            and is_rfc3339(self.ts)
            and _opt_num(self.value, None)
        )

    def _number_reasons(self) -> Iterator[str]:
        yield from _nonfinite("$.value", self.value)


@dataclass(frozen=True, slots=True)
class Assignment(_Event):
    """``assignment.v1``: the experiment arm a request was served in."""

    SCHEMA: ClassVar[str] = "assignment.v1"

    experiment_id: str
    variant: str
    request_id: str
    user_id: str
    ts: str
    context: dict[str, str] | None = None

    @property
    def timestamp_ms(self) -> int:
        """``ts`` as epoch milliseconds (UTC)."""
        return rfc3339_to_ms(self.ts)

    def key(self) -> str:
        return self.request_id

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "experiment_id": self.experiment_id,
            "variant": self.variant,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
        }
        if self.context is not None:
            doc["context"] = dict(self.context)
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "variant": self.variant,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
            "context": self.context,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Assignment:
        return cls(
            record["experiment_id"],
            record["variant"],
            record["request_id"],
            record["user_id"],
            record["ts"],
            record["context"],
        )

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> Assignment:
        context = doc.get("context")
        return cls(
            doc["experiment_id"],
            doc["variant"],
            doc["request_id"],
            doc["user_id"],
            doc["ts"],
            None if context is None else dict(context),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.experiment_id)
            and _is_str(self.variant)
            and _is_str(self.request_id)
            and _is_str(self.user_id)
            and type(self.ts) is str
            and is_rfc3339(self.ts)
            and _is_context(self.context)
        )


@dataclass(frozen=True, slots=True)
class RankList(_Event):
    """``ranklist.v1``: the item ids one ranker produced for a request, in rank order."""

    SCHEMA: ClassVar[str] = "ranklist.v1"

    request_id: str
    user_id: str
    ts: str
    items: tuple[str, ...]
    context: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.items, list):
            object.__setattr__(self, "items", tuple(self.items))

    @property
    def timestamp_ms(self) -> int:
        """``ts`` as epoch milliseconds (UTC)."""
        return rfc3339_to_ms(self.ts)

    def key(self) -> str:
        return self.request_id

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
            "items": list(self.items),
        }
        if self.context is not None:
            doc["context"] = dict(self.context)
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "ts": self.ts,
            "items": list(self.items),
            "context": self.context,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> RankList:
        return cls(
            record["request_id"],
            record["user_id"],
            record["ts"],
            tuple(record["items"]),
            record["context"],
        )

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> RankList:
        context = doc.get("context")
        return cls(
            doc["request_id"],
            doc["user_id"],
            doc["ts"],
            tuple(doc["items"]),
            None if context is None else dict(context),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.request_id)
            and _is_str(self.user_id)
            and type(self.ts) is str
            and is_rfc3339(self.ts)
            and isinstance(self.items, tuple | list)
            and all(_is_str(i) for i in self.items)
            and _is_context(self.context)
        )


@dataclass(frozen=True, slots=True)
class Item(_Event):
    """``item.v1``: catalog record of one item (RecSys Stream's own contract)."""

    SCHEMA: ClassVar[str] = "item.v1"

    item_id: str
    tenant: str
    tags: tuple[str, ...]
    available: bool
    namespace: str | None = None
    price: float | None = None
    created_at: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.tags, list):
            object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def timestamp_ms(self) -> int | None:
        """``created_at`` as epoch milliseconds (UTC), ``None`` when absent."""
        return None if self.created_at is None else rfc3339_to_ms(self.created_at)

    def key(self) -> str:
        return self.item_id

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"item_id": self.item_id, "tenant": self.tenant}
        if self.namespace is not None:
            doc["namespace"] = self.namespace
        doc["tags"] = list(self.tags)
        if self.price is not None:
            doc["price"] = _jnum(self.price)
        if self.created_at is not None:
            doc["created_at"] = self.created_at
        doc["available"] = self.available
        return doc

    def to_avro(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "tenant": self.tenant,
            "namespace": self.namespace,
            "tags": list(self.tags),
            "price": self.price,
            "created_at": self.created_at,
            "available": self.available,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Item:
        return cls(
            record["item_id"],
            record["tenant"],
            tuple(record["tags"]),
            record["available"],
            record["namespace"],
            record["price"],
            record["created_at"],
        )

    @classmethod
    def _from_valid_json(cls, doc: Mapping[str, Any]) -> Item:
        return cls(
            doc["item_id"],
            doc["tenant"],
            tuple(doc["tags"]),
            doc["available"],
            doc.get("namespace"),
            _fnum(doc.get("price")),
            doc.get("created_at"),
        )

    def _fast_valid(self) -> bool:
        return (
            _is_str(self.item_id)
            and _is_str(self.tenant)
            and isinstance(self.tags, tuple | list)
            and all(_is_str(t) for t in self.tags)
            and type(self.available) is bool
            and (self.namespace is None or _is_str(self.namespace))
            and _opt_num(self.price)
            and (
                self.created_at is None
                or (type(self.created_at) is str and is_rfc3339(self.created_at))
            )
        )

    def _number_reasons(self) -> Iterator[str]:
        yield from _nonfinite("$.price", self.price)


Event = Exposure | Outcome | Assignment | RankList | Item
"""Any typed event."""

EVENT_CLASSES: dict[str, type[Exposure | Outcome | Assignment | RankList | Item]] = {
    cls.SCHEMA: cls for cls in (Exposure, Outcome, Assignment, RankList, Item)
}
"""Event class by schema name (``"exposure.v1"`` → ``Exposure``)."""


def event_class(schema_name: str) -> type[Event]:
    """The event class of a schema name; unknown names fail with the list of known ones."""
    try:
        return EVENT_CLASSES[schema_name]
    except KeyError:
        known = ", ".join(EVENT_CLASSES)
        raise ConfigError(f"unknown schema {schema_name!r}; known: {known}") from None


def event_from_json(schema_name: str, doc: Any) -> Event:
    """Validate ``doc`` against ``schema_name`` and build its typed event."""
    return event_class(schema_name).from_json(doc)


def event_from_avro(schema_name: str, record: Mapping[str, Any]) -> Event:
    """Build the typed event of ``schema_name`` from a decoded Avro record (not validated)."""
    return event_class(schema_name).from_avro(record)
