"""Avro body → typed event in one generated function per schema (the decode hot path).

The generic decode (``avro_binary`` closures → dict → ``from_avro`` → ``check()``) calls a
closure per field, builds a dict per record, runs the frozen dataclasses' ``__init__`` and
then walks the event again to check it. For each event schema this module instead writes
the Python source of one straight-line function, and ``exec``s it once:

- fields are read in schema order into locals, with varints, strings and doubles inlined;
- the typed dataclasses are built directly: an instance of a mutable twin class with the
  same slots is filled, then switched to the real class (same class, same values, so the
  same equality, hashing and immutability; no frozen ``__setattr__`` per field). Their
  ``__post_init__`` does not run; all it does is turn lists into tuples, and the decoder
  builds tuples;
- the contract is checked on the locals as they are read. The rules come from the JSON
  Schema twin (``minLength``, ``minimum``, ``enum``, ``format: date-time``, ``required``)
  plus finiteness of every double, which is what ``check()`` enforces: it accepts an event
  whose ``to_json()`` (the Avro values without ``None``s) is valid and has no NaN or ±inf.
  The generated function only answers *valid or not*; when not, the codec calls
  ``event.check()`` for the exact ``InvalidEventError``.

Bytes are read exactly as ``avro_binary``'s compiled reader reads them, error messages
included (``EOFError`` when the data ends early, ``ValueError`` for impossible bytes): e.g.
a ``["null", "double"]`` record field checks its raw branch byte, other unions a varint.
A schema with a shape, or a JSON Schema keyword, not handled here gets no decoder
(``build_decoder`` → ``None``) and the codec stays on the generic path; so a new rule in a
contract can never be skipped silently. ``tests/unit/schemas/test_event_decoders.py``
holds both paths equal on generated events and on corrupted frames.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import struct
from collections.abc import Callable
from typing import Any

from schemas.avro_binary import compile_schema, read_long
from schemas.events import EVENT_CLASSES, Event, ExposureItem
from schemas.fast_init import mutable_twin
from schemas.registry import avro_schema_doc
from schemas.timestamps import is_rfc3339
from schemas.validation import load_schema

ReadEvent = Callable[[bytes, int], tuple[Event, int, bool]]
"""Reads an Avro body at a position: (event, position after it, whether it is valid)."""

RECORD_CLASSES: dict[str, type[Any]] = {
    **{cls.__name__: cls for cls in EVENT_CLASSES.values()},
    "ExposureItem": ExposureItem,
}
"""The dataclass built for each Avro record name (the ``name`` in the ``.avsc``)."""

_JSON_TYPE = {
    "string": "string",
    "long": "integer",
    "int": "integer",
    "double": "number",
    "boolean": "boolean",
    "enum": "string",
    "array": "array",
    "map": "object",
    "record": "object",
}
"""The JSON Schema ``type`` that the twin must give each Avro type."""

_JSON_RULES: dict[str, frozenset[str]] = {
    "string": frozenset({"type", "minLength", "enum", "format"}),
    "long": frozenset({"type", "minimum"}),
    "int": frozenset({"type", "minimum"}),
    "double": frozenset({"type", "minimum"}),
    "boolean": frozenset({"type"}),
    "enum": frozenset({"type", "enum"}),
    "array": frozenset({"type", "items"}),
    "map": frozenset({"type", "additionalProperties"}),
    "record": frozenset({"type", "properties", "required", "additionalProperties"}),
}
"""JSON Schema keywords the generated checks enforce, by Avro type; any other keyword makes
the generator give up."""

_JSON_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})

_INLINE_OPTIONAL = ("double", "string")
"""``["null", T]`` record fields that the compiled reader reads inline, branch as a raw byte
(``avro_binary._field_kind``); every other union reads its branch as a varint."""

_ONE_BYTE_LONG: tuple[int | None, ...] = tuple(
    (b >> 1) ^ -(b & 1) if b < 0x80 else None for b in range(256)
)
"""The long that a one-byte varint stands for, by byte; ``None``: the varint goes on."""

_SHORT_LENGTH: tuple[int, ...] = tuple(b >> 1 if b < 0x80 and not b & 1 else -1 for b in range(256))
"""A string length that fits one varint byte, by byte; -1: longer varint or negative."""


class Unsupported(Exception):
    """The schema uses an Avro shape or a JSON Schema rule this module does not generate."""


@dataclasses.dataclass(frozen=True, slots=True)
class EventDecoder:
    """The generated decoder of one schema, with its source (for reading and debugging)."""

    schema_name: str
    read: ReadEvent
    source: str


class _Source:
    """Lines of generated Python, fresh local names, and the globals they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "read_long": read_long,
            "unpack_double": struct.Struct("<d").unpack_from,
            "new": object.__new__,
            "is_rfc3339": is_rfc3339,
            "INF": math.inf,
            "ONE_BYTE_LONG": _ONE_BYTE_LONG,
            "SHORT_LENGTH": _SHORT_LENGTH,
        }
        self._counter = 0

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}_{self._counter}"

    def bind(self, stem: str, value: Any) -> str:
        """The global name of ``value`` in the generated module."""
        for name, known in self.namespace.items():
            if known is value:
                return name
        name = self.fresh(stem)
        self.namespace[name] = value
        return name


def _avro_kind(node: Any) -> str:
    """``string``, ``record``, ... of an Avro type that is not a union."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and isinstance(node.get("type"), str):
        kind = str(node["type"])
        if kind in ("record", "array", "map", "enum") or len(node) == 1:
            return kind
    raise Unsupported(f"Avro type {node!r}")


def _optional_branch(node: Any) -> Any | None:
    """``T`` of a ``["null", T]`` union; ``None`` for a type that is not a union."""
    if isinstance(node, list):
        if len(node) != 2 or node[0] != "null":
            raise Unsupported(f"union {node!r}")
        return node[1]
    return None


def _json_type(node: Any) -> str:
    """The JSON Schema ``type`` of an Avro type, for values the twin gives no rules."""
    branch = _optional_branch(node)
    return _JSON_TYPE.get(_avro_kind(node if branch is None else branch), "?")


def _rules(json_node: Any, kind: str) -> dict[str, Any]:
    """The JSON Schema rules of one value, once we know the checks enforce all of them."""
    if not isinstance(json_node, dict):
        raise Unsupported(f"JSON Schema {json_node!r}")
    rules = {k: v for k, v in json_node.items() if k not in _JSON_ANNOTATIONS}
    expected = _JSON_TYPE.get(kind)
    if expected is None or rules.get("type") != expected:
        raise Unsupported(f"Avro {kind} against JSON Schema type {rules.get('type')!r}")
    unknown = set(rules) - _JSON_RULES[kind]
    if unknown:
        raise Unsupported(f"JSON Schema keywords {sorted(unknown)} on an Avro {kind}")
    if rules.get("format", "date-time") != "date-time":
        raise Unsupported(f"format {rules['format']!r}")
    low, min_length = rules.get("minimum", 0), rules.get("minLength", 0)
    if type(low) not in (int, float) or type(min_length) is not int:
        raise Unsupported(f"bounds {rules!r}")
    if not isinstance(rules.get("enum", []), list):
        raise Unsupported(f"enum {rules['enum']!r}")
    return rules


class _Generator:
    """Writes the reading code of each Avro node; every method reads into ``target``."""

    def __init__(self, src: _Source) -> None:
        self.src = src
        self.emit = src.emit

    # -- primitives -------------------------------------------------------------------
    def varint(self, d: int, target: str) -> None:
        e = self.emit
        e(d, f"{target} = ONE_BYTE_LONG[data[pos]]")
        e(d, f"if {target} is None:")
        e(d + 1, f"{target}, pos = read_long(data, pos)")
        e(d, "else:")
        e(d + 1, "pos += 1")

    def string(self, d: int, target: str) -> None:
        e = self.emit
        n, end = self.src.fresh("n"), self.src.fresh("end")
        e(d, f"{n} = SHORT_LENGTH[data[pos]]")
        e(d, f"if {n} >= 0:")
        e(d + 1, "pos += 1")
        e(d + 1, f"{end} = pos + {n}")
        e(d, "else:")
        e(d + 1, f"{n}, pos = read_long(data, pos)")
        e(d + 1, f"{end} = pos + {n}")
        e(d + 1, f"if {n} < 0:")
        e(d + 2, f'raise ValueError(f"negative string length {{{n}}}")')
        e(d, f"if {end} > size:")
        e(d + 1, 'raise EOFError("data ended inside a string")')
        e(d, f"{target} = data[pos:{end}].decode()")
        e(d, f"pos = {end}")

    def double(self, d: int, target: str) -> None:
        e = self.emit
        e(d, "if pos + 8 > size:")
        e(d + 1, 'raise EOFError("data ended inside a double")')
        e(d, f"{target} = unpack_double(data, pos)[0]")
        e(d, "pos += 8")

    def boolean(self, d: int, target: str) -> None:
        e = self.emit
        e(d, f"{target} = data[pos]")
        e(d, f"if {target} > 1:")
        e(d + 1, f'raise ValueError(f"boolean byte {{{target}}}")')
        e(d, f"{target} = {target} == 1")
        e(d, "pos += 1")

    def enum(self, d: int, target: str, node: dict[str, Any]) -> None:
        symbols = tuple(node["symbols"])
        self.varint(d, target)
        self.emit(d, f"if not 0 <= {target} < {len(symbols)}:")
        self.emit(d + 1, f'raise ValueError(f"enum index {{{target}}} out of range")')
        self.emit(d, f"{target} = {self.src.bind('SYMBOLS', symbols)}[{target}]")

    def block_count(self, d: int, count: str) -> None:
        self.varint(d, count)
        self.emit(d, f"if {count} < 0:  # a blocking encoder: the block's byte size follows")
        self.emit(d + 1, f"{count} = -{count}")
        self.emit(d + 1, "_, pos = read_long(data, pos)")

    # -- the contract -----------------------------------------------------------------
    def check(self, d: int, target: str, kind: str, rules: dict[str, Any]) -> None:
        """Clear ``ok`` when the (non-null) value breaks its rules."""
        conditions = []
        if kind == "double":  # JSON cannot carry NaN or ±inf: check() rejects them
            low = rules.get("minimum")
            low_text = "-INF <" if low is None else f"{float(low)!r} <="
            conditions.append(f"not {low_text} {target} < INF")
        elif "minimum" in rules:
            conditions.append(f"{target} < {rules['minimum']!r}")
        if rules.get("minLength") == 1:
            conditions.append(f"not {target}")
        elif "minLength" in rules:
            conditions.append(f"len({target}) < {rules['minLength']}")
        if "enum" in rules:
            conditions.append(f"{target} not in {tuple(rules['enum'])!r}")
        if "format" in rules:
            conditions.append(f"not is_rfc3339({target})")
        if conditions:
            self.emit(d, f"if {' or '.join(conditions)}:")
            self.emit(d + 1, "ok = False")

    # -- composite values -------------------------------------------------------------
    def field(self, d: int, target: str, node: Any, json_node: Any, required: bool) -> None:
        """A record field; ``["null", "double" | "string"]`` has a raw branch byte here."""
        branch = _optional_branch(node)
        if branch is None or branch not in _INLINE_OPTIONAL:
            self.value(d, target, node, json_node, required)
            return
        b = self.src.fresh("branch")
        self.emit(d, f"{b} = data[pos]")
        self.emit(d, "pos += 1")
        self.union_arms(d, b, 2, "union branch byte", target, branch, json_node, required)

    def union_arms(self, d: int, b: str, present: int, what: str, target: str, branch: Any,
                   json_node: Any, required: bool) -> None:
        """``null | branch`` once the union's index is read into ``b``: 0 is null, ``present``
        is index 1 as read (2 as a raw zigzag byte, 1 as a decoded long), else corrupt."""
        e = self.emit
        e(d, f"if {b} == 0:")
        e(d + 1, f"{target} = None")
        if required:
            e(d + 1, "ok = False")
        e(d, f"elif {b} == {present}:")
        self.value(d + 1, target, branch, json_node)
        e(d, "else:")
        e(d + 1, f'raise ValueError(f"{what} {{{b}}} out of range")')

    def value(self, d: int, target: str, node: Any, json_node: Any, required: bool = True) -> None:
        """Any value; ``required``: a null here breaks the contract."""
        branch = _optional_branch(node)
        if branch is not None:
            b = self.src.fresh("branch")
            self.varint(d, b)
            self.union_arms(d, b, 1, "union branch", target, branch, json_node, required)
            return
        kind = _avro_kind(node)
        rules = _rules(json_node, kind)
        if kind == "string":
            self.string(d, target)
        elif kind in ("long", "int"):
            self.varint(d, target)
        elif kind == "double":
            self.double(d, target)
        elif kind == "boolean":
            self.boolean(d, target)
        elif kind == "enum":
            self.enum(d, target, node)
        elif kind == "array":
            self.array(d, target, node, rules)
        elif kind == "map":
            self.map(d, target, node, rules)
        else:
            self.record(d, target, node, rules)
        self.check(d, target, kind, rules)

    def array(self, d: int, target: str, node: dict[str, Any], rules: dict[str, Any]) -> None:
        items, count, item = (self.src.fresh(stem) for stem in ("items", "count", "item"))
        self.emit(d, f"{items} = []")
        self.block_count(d, count)
        self.emit(d, f"while {count}:")
        self.emit(d + 1, f"for _ in range({count}):")
        item_rules = rules.get("items", {"type": _json_type(node["items"])})
        self.value(d + 2, item, node["items"], item_rules)
        self.emit(d + 2, f"{items}.append({item})")
        self.block_count(d + 1, count)
        self.emit(d, f"{target} = tuple({items})")  # the dataclasses hold sequences as tuples

    def map(self, d: int, target: str, node: dict[str, Any], rules: dict[str, Any]) -> None:
        count, key, item = (self.src.fresh(stem) for stem in ("count", "key", "value"))
        value_rules = rules.get("additionalProperties", {"type": _json_type(node["values"])})
        self.emit(d, f"{target} = {{}}")
        self.block_count(d, count)
        self.emit(d, f"while {count}:")
        self.emit(d + 1, f"for _ in range({count}):")
        self.string(d + 2, key)
        self.value(d + 2, item, node["values"], value_rules)
        self.emit(d + 2, f"{target}[{key}] = {item}")
        self.block_count(d + 1, count)

    def record(self, d: int, target: str, node: dict[str, Any], rules: dict[str, Any]) -> None:
        cls = RECORD_CLASSES.get(node["name"])
        if cls is None:
            raise Unsupported(f"no dataclass for Avro record {node['name']!r}")
        names = [field["name"] for field in node["fields"]]
        if sorted(names) != sorted(field.name for field in dataclasses.fields(cls)):
            raise Unsupported(f"{cls.__name__} and Avro record {node['name']!r} differ")
        properties = rules.get("properties", {})
        required = set(rules.get("required", ()))
        extra = rules.get("additionalProperties", True)
        if not required <= set(names) or extra not in (True, False):
            raise Unsupported(f"JSON Schema object rules of {node['name']!r}")
        if extra is False and not set(names) <= set(properties):
            raise Unsupported(f"{node['name']!r} has fields its JSON Schema forbids")
        values = []
        for field in node["fields"]:
            local = self.src.fresh(f"f_{field['name']}")
            json_node = properties.get(field["name"], {"type": _json_type(field["type"])})
            self.field(d, local, field["type"], json_node, field["name"] in required)
            values.append((field["name"], local))
        twin = mutable_twin(cls)
        if twin is None:
            self.emit(d, f"{target} = new({self.src.bind(cls.__name__, cls)})")
            for name, local in values:
                setter = self.src.bind(f"set_{name}", cls.__dict__[name].__set__)
                self.emit(d, f"{setter}({target}, {local})")
            return
        self.emit(d, f"{target} = new({self.src.bind(twin.__name__, twin)})")
        for name, local in values:
            self.emit(d, f"{target}.{name} = {local}")
        self.emit(d, f"{target}.__class__ = {self.src.bind(cls.__name__, cls)}")


def generate(
    schema_name: str,
    avro_doc: dict[str, Any] | None = None,
    json_doc: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The source of ``read(data, pos)`` for a schema, and the globals it runs with.

    ``avro_doc`` and ``json_doc`` default to our ``.avsc`` and JSON Schema of the name.
    Raises ``Unsupported`` when a shape or rule is not handled.
    """
    event_cls = EVENT_CLASSES.get(schema_name)
    if event_cls is None:
        raise Unsupported(f"{schema_name} has no event class")
    avro_doc = avro_schema_doc(schema_name) if avro_doc is None else avro_doc
    json_doc = load_schema(schema_name) if json_doc is None else json_doc
    if RECORD_CLASSES.get(avro_doc.get("name", "")) is not event_cls:
        raise Unsupported(f"{schema_name}: the Avro record is not {event_cls.__name__}")
    if compile_schema(avro_doc) is None:  # bytes then read by fastavro, with its messages
        raise Unsupported(f"{schema_name} is not compiled by avro_binary")
    src = _Source()
    src.emit(0, "def read(data, pos):")
    src.emit(1, "size = len(data)")
    src.emit(1, "ok = True")
    src.emit(1, "try:")
    _Generator(src).value(2, "event", avro_doc, json_doc)
    src.emit(1, "except IndexError:")
    src.emit(2, 'raise EOFError("data ended inside a record") from None')
    src.emit(1, "return event, pos, ok")
    return "\n".join(src.lines) + "\n", src.namespace


@functools.cache
def build_decoder(schema_name: str) -> EventDecoder | None:
    """The generated decoder of ``schema_name``; ``None`` where the generator gives up."""
    try:
        source, namespace = generate(schema_name)
    except Unsupported:
        return None
    code = compile(source, f"<decoder of {schema_name}>", "exec")
    exec(code, namespace)  # noqa: S102 -- source generated from our own schema files
    read: ReadEvent = namespace["read"]
    return EventDecoder(schema_name, read, source)
