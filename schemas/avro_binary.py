"""Avro binary encoding compiled from our own ``.avsc`` files into closures (the hot path).

Why not fastavro alone: on our exposure records fastavro's ``schemaless_writer`` /
``schemaless_reader`` spend most of their time dispatching on the schema for every field
(about 5x slower than a specialised encoder, see ``bench/codec.py``). The shapes our
contracts use are few, so each schema is compiled once into nested closures that write
and read exactly the Avro 1.11 binary encoding:

- ``string``: zigzag-varint byte length + UTF-8; ``long``/``int``: zigzag varint;
  ``double``: 8 bytes little-endian IEEE 754; ``boolean``: one byte 0/1;
- ``enum``: the symbol index as a varint; ``["null", T]``: branch index then the value;
- ``array``/``map``: blocks of ``count`` (varint) items, ended by a 0 count; a negative
  count (written by blocking encoders) is followed by the block's byte size;
- ``record``: the fields in schema order, nothing else.

A schema that uses anything else (other unions, fixed, bytes, named references...) is not
compiled: ``compile_schema`` returns ``None`` and the codec stays on fastavro. fastavro
also remains the reader whenever the writer schema differs from ours (schema resolution),
and the tests hold the compiled codec byte-for-byte against fastavro on generated events.

Readers raise ``EOFError`` when the data ends early and ``ValueError`` for bytes that
cannot be a value of the schema (bad branch or enum index, over-long varint, bad UTF-8).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Writer = Callable[[Any, list[bytes]], None]
"""Appends the encoding of a value to a list of byte chunks."""
Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads one value at a position; returns it and the position after it."""

_DOUBLE = struct.Struct("<d")
_SMALL = [bytes([(n << 1) if n >= 0 else ((-n << 1) - 1)]) for n in range(-64, 64)]
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class Unsupported(Exception):
    """The schema uses a shape this module does not compile."""


def zigzag(n: int) -> bytes:
    """The Avro ``long`` encoding of ``n`` (zigzag, then base-128 varint)."""
    if -64 <= n < 64:
        return _SMALL[n + 64]
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise OverflowError(f"{n} does not fit an Avro long")
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a zigzag varint at ``pos``."""
    try:
        byte = data[pos]
    except IndexError:
        raise EOFError("data ended inside a varint") from None
    pos += 1
    if byte < 0x80:
        return (byte >> 1) ^ -(byte & 1), pos
    z = byte & 0x7F
    shift = 7
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise EOFError("data ended inside a varint") from None
        pos += 1
        z |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (z >> 1) ^ -(z & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def string_bytes(value: str) -> bytes:
    """The Avro ``string`` encoding of ``value`` (byte length, then UTF-8) in one chunk."""
    raw = value.encode("utf-8")
    return zigzag(len(raw)) + raw


pack_double = _DOUBLE.pack
"""The Avro ``double`` encoding (8 bytes, little-endian IEEE 754)."""


# -- writers ---------------------------------------------------------------------------
def _w_string(value: Any, out: list[bytes]) -> None:
    raw = value.encode("utf-8")
    out.append(zigzag(len(raw)))
    out.append(raw)


def _w_long(value: Any, out: list[bytes]) -> None:
    if type(value) is not int:
        raise TypeError(f"{value!r} is not an int")
    out.append(zigzag(value))


def _w_double(value: Any, out: list[bytes]) -> None:
    out.append(_DOUBLE.pack(value))


def _w_boolean(value: Any, out: list[bytes]) -> None:
    if type(value) is not bool:
        raise TypeError(f"{value!r} is not a bool")
    out.append(b"\x01" if value else b"\x00")


# -- readers ---------------------------------------------------------------------------
def _r_string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = read_long(data, pos)
    end = pos + size
    if size < 0:
        raise ValueError(f"negative string length {size}")
    if end > len(data):
        raise EOFError("data ended inside a string")
    return data[pos:end].decode("utf-8"), end


def _r_double(data: bytes, pos: int) -> tuple[float, int]:
    if pos + 8 > len(data):
        raise EOFError("data ended inside a double")
    value: float = _DOUBLE.unpack_from(data, pos)[0]
    return value, pos + 8


def _r_boolean(data: bytes, pos: int) -> tuple[bool, int]:
    try:
        byte = data[pos]
    except IndexError:
        raise EOFError("data ended inside a boolean") from None
    if byte > 1:
        raise ValueError(f"boolean byte {byte}")
    return byte == 1, pos + 1


_PRIMITIVES: dict[str, tuple[Writer, Reader]] = {
    "string": (_w_string, _r_string),
    "long": (_w_long, read_long),
    "int": (_w_long, read_long),
    "double": (_w_double, _r_double),
    "boolean": (_w_boolean, _r_boolean),
}


def _block_count(data: bytes, pos: int) -> tuple[int, int]:
    count, pos = read_long(data, pos)
    if count < 0:  # a blocking encoder: the byte size of the block follows
        count = -count
        _, pos = read_long(data, pos)
    return count, pos


def _compile(node: Any) -> tuple[Writer, Reader]:
    if isinstance(node, str):
        if node not in _PRIMITIVES:
            raise Unsupported(f"type {node!r}")
        return _PRIMITIVES[node]
    if isinstance(node, list):
        return _compile_optional(node)
    kind = node.get("type")
    if kind == "record":
        return _compile_record(node)
    if kind == "array":
        return _compile_array(node)
    if kind == "map":
        return _compile_map(node)
    if kind == "enum":
        return _compile_enum(node)
    if isinstance(kind, str) and kind in _PRIMITIVES and len(node) == 1:
        return _PRIMITIVES[kind]
    raise Unsupported(f"type {kind!r}")


def _compile_optional(branches: list[Any]) -> tuple[Writer, Reader]:
    if len(branches) != 2 or branches[0] != "null":
        raise Unsupported(f"union {branches!r}")
    write_value, read_value = _compile(branches[1])

    def write(value: Any, out: list[bytes]) -> None:
        if value is None:
            out.append(b"\x00")
        else:
            out.append(b"\x02")
            write_value(value, out)

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        branch, pos = read_long(data, pos)
        if branch == 0:
            return None, pos
        if branch == 1:
            return read_value(data, pos)
        raise ValueError(f"union branch {branch} out of range")

    return write, read


# Field kinds a record reader decodes inline (no call per field): the hot path of decode.
_K_STRING, _K_LONG, _K_DOUBLE, _K_OPT_DOUBLE, _K_OPT_STRING, _K_OTHER = range(6)
_INLINE: dict[Any, int] = {
    "string": _K_STRING,
    "long": _K_LONG,
    "int": _K_LONG,
    "double": _K_DOUBLE,
    ("null", "double"): _K_OPT_DOUBLE,
    ("null", "string"): _K_OPT_STRING,
}


def _field_kind(node: Any) -> int:
    if isinstance(node, str):
        return _INLINE.get(node, _K_OTHER)
    if isinstance(node, list) and all(isinstance(branch, str) for branch in node):
        return _INLINE.get(tuple(node), _K_OTHER)
    return _K_OTHER


def _compile_record(node: dict[str, Any]) -> tuple[Writer, Reader]:
    fields = [(f["name"], _field_kind(f["type"]), *_compile(f["type"])) for f in node["fields"]]
    writers = [(name, w) for name, _, w, _ in fields]
    readers = [(name, kind, r) for name, kind, _, r in fields]
    unpack_double = _DOUBLE.unpack_from

    def write(value: Any, out: list[bytes]) -> None:
        for name, write_field in writers:
            write_field(value[name], out)

    def read(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
        record: dict[str, Any] = {}
        size = len(data)
        try:
            for name, kind, read_field in readers:
                if kind == _K_OTHER:
                    record[name], pos = read_field(data, pos)
                    continue
                if kind >= _K_OPT_DOUBLE:  # union branch byte: 0 null, 2 (zigzag 1) value
                    branch = data[pos]
                    pos += 1
                    if branch == 0:
                        record[name] = None
                        continue
                    if branch != 2:
                        raise ValueError(f"union branch byte {branch} out of range")
                if kind == _K_DOUBLE or kind == _K_OPT_DOUBLE:
                    if pos + 8 > size:
                        raise EOFError("data ended inside a double")
                    record[name] = unpack_double(data, pos)[0]
                    pos += 8
                    continue
                byte = data[pos]
                if byte < 0x80:
                    number = (byte >> 1) ^ -(byte & 1)
                    pos += 1
                else:
                    number, pos = read_long(data, pos)
                if kind == _K_LONG:
                    record[name] = number
                    continue
                end = pos + number
                if number < 0:
                    raise ValueError(f"negative string length {number}")
                if end > size:
                    raise EOFError("data ended inside a string")
                record[name] = data[pos:end].decode("utf-8")
                pos = end
        except IndexError:
            raise EOFError("data ended inside a record") from None
        return record, pos

    return write, read


def _compile_array(node: dict[str, Any]) -> tuple[Writer, Reader]:
    write_item, read_item = _compile(node["items"])

    def write(value: Any, out: list[bytes]) -> None:
        if value:
            out.append(zigzag(len(value)))
            for item in value:
                write_item(item, out)
        out.append(b"\x00")

    def read(data: bytes, pos: int) -> tuple[list[Any], int]:
        items = []
        count, pos = _block_count(data, pos)
        while count:
            for _ in range(count):
                item, pos = read_item(data, pos)
                items.append(item)
            count, pos = _block_count(data, pos)
        return items, pos

    return write, read


def _compile_map(node: dict[str, Any]) -> tuple[Writer, Reader]:
    write_value, read_value = _compile(node["values"])

    def write(value: Any, out: list[bytes]) -> None:
        if value:
            out.append(zigzag(len(value)))
            for key, item in value.items():
                _w_string(key, out)
                write_value(item, out)
        out.append(b"\x00")

    def read(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
        mapping = {}
        count, pos = _block_count(data, pos)
        while count:
            for _ in range(count):
                key, pos = _r_string(data, pos)
                mapping[key], pos = read_value(data, pos)
            count, pos = _block_count(data, pos)
        return mapping, pos

    return write, read


def _compile_enum(node: dict[str, Any]) -> tuple[Writer, Reader]:
    symbols: list[str] = list(node["symbols"])
    index = {symbol: zigzag(n) for n, symbol in enumerate(symbols)}

    def write(value: Any, out: list[bytes]) -> None:
        try:
            out.append(index[value])
        except KeyError:
            raise ValueError(f"{value!r} is not one of {symbols}") from None

    def read(data: bytes, pos: int) -> tuple[str, int]:
        n, pos = read_long(data, pos)
        if not 0 <= n < len(symbols):
            raise ValueError(f"enum index {n} out of range")
        return symbols[n], pos

    return write, read


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """Encoder and decoder of one record schema."""

    write: Writer
    read: Reader

    def encode(self, record: Any) -> bytes:
        out: list[bytes] = []
        self.write(record, out)
        return b"".join(out)


def compile_schema(schema_doc: dict[str, Any]) -> CompiledSchema | None:
    """Compile an ``.avsc`` document; ``None`` if it uses a shape we do not compile."""
    try:
        write, read = _compile(schema_doc)
    except Unsupported:
        return None
    return CompiledSchema(write, read)
