"""Codecs: Avro binary with Confluent wire framing, and JSON (orjson).

Confluent framing of every Kafka value::

    byte 0      magic byte, always 0
    bytes 1..4  schema id, unsigned 32-bit big-endian (from a ``SchemaRegistry``)
    bytes 5..   Avro binary body (fastavro ``schemaless_writer``)

``AvroCodec.decode`` checks, in order: the frame header, that the id is known, that the
schema is the expected one, that the body decodes and is consumed completely, and finally
the JSON Schema semantics Avro types cannot express (``rank >= 1``, ``minLength``, RFC 3339
``ts``, non-negative propensities, finite numbers). Every failure raises ``DecodeError``
(bad bytes) or ``InvalidEventError`` (well-formed record that breaks the contract) — both
``ContractError`` — with a short reason such as ``unknown magic byte 0x7b``.

Records written with a different (compatible) version of a schema decode through Avro
schema resolution: the registry's writer schema, our ``.avsc`` as reader schema.

Records written with our own schema, the hot path of every stream worker, are decoded by
one function generated per schema (``schemas.event_decoders``): same events, same errors,
about 3x faster than the generic path (closure reader → dict → ``from_avro`` → ``check``),
which ``decode_generic`` keeps as the reference and which decodes everything else.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable
from typing import Any

import fastavro
import orjson

from schemas.avro_binary import CompiledSchema, compile_schema
from schemas.errors import ContractError, DecodeError
from schemas.event_decoders import ReadEvent, build_decoder
from schemas.events import EVENT_CLASSES, Event, event_class
from schemas.registry import (
    LocalRegistry,
    ParsedSchema,
    SchemaRegistry,
    avro_schema_doc,
    parsed_schema,
)

MAGIC = 0
HEADER = struct.Struct(">bI")
"""Magic byte and big-endian unsigned 32-bit schema id."""
_SCHEMA_ID = struct.Struct(">I")


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the Confluent header."""
    return HEADER.pack(MAGIC, schema_id) + body


def schema_id_of(data: bytes | bytearray | memoryview) -> int:
    """The schema id in a Confluent frame (``DecodeError`` if there is no valid header)."""
    if len(data) < HEADER.size:
        raise DecodeError(
            f"record too short: {len(data)} byte(s), a Confluent frame needs at least 5"
        )
    if data[0] != MAGIC:
        hint = " (looks like JSON, not Avro)" if data[:1] in (b"{", b"[") else ""
        raise DecodeError(f"unknown magic byte 0x{data[0]:02x}{hint}")
    schema_id: int = HEADER.unpack_from(data)[1]
    return schema_id


class AvroCodec:
    """Encode typed events to framed Avro and back, with ids from ``registry``."""

    def __init__(self, registry: SchemaRegistry | None = None) -> None:
        self.registry: SchemaRegistry = registry if registry is not None else LocalRegistry()
        self._headers: dict[str, bytes] = {}
        self._decoders: dict[str, tuple[ParsedSchema, ReadEvent | None]] = {}
        self._resolved: set[int] = set()  # ids decode_async need not resolve again

    def _header(self, schema_name: str) -> bytes:
        header = self._headers.get(schema_name)
        if header is None:
            header = HEADER.pack(MAGIC, self.registry.id_for(schema_name))
            self._headers[schema_name] = header
        return header

    def framed(self, schema_name: str, body: bytes) -> bytes:
        """``body`` (Avro of ``schema_name``, ours) behind its 5-byte registry header."""
        return self._header(schema_name) + body

    def encode(self, event: Event, *, checked: bool = False) -> bytes:
        """Framed Avro bytes of a valid event (``InvalidEventError`` if it is not valid).

        ``checked``: the caller has just validated this very event (``EventProducer``
        does, to word its error), so the contract check is not run a second time.
        """
        if not checked:
            event.check()
        name = event.SCHEMA
        header = self._header(name)
        compiled = compiled_schema(name)
        try:
            if compiled is not None:
                out = [header]
                compiled.write(event.to_avro(), out)
                return b"".join(out)
            buf = io.BytesIO()
            buf.write(header)
            fastavro.schemaless_writer(buf, parsed_schema(name), event.to_avro())
            return buf.getvalue()
        except (TypeError, ValueError, AttributeError, OverflowError, struct.error) as exc:
            raise ContractError(f"cannot encode {name}: {exc}") from exc

    def decode(self, data: bytes | bytearray | memoryview, expected: str | None = None) -> Event:
        """The typed event in framed Avro ``data``; checks everything listed in the module doc.

        ``expected`` is a schema name (``"exposure.v1"``); a record of another schema is
        rejected. An id this process has not seen raises ``DecodeError`` — with a remote
        registry, use ``decode_async`` (or ``await registry.resolve(id)`` first).

        Bodies written with our own schema go through the generated decoder of
        ``schemas.event_decoders``; anything else through ``decode_generic``'s path.
        """
        if type(data) is not bytes:  # bytearray / memoryview from other clients
            data = bytes(data)
        return self._decode(data, _frame_id(data), expected)

    def _decode(self, data: bytes, schema_id: int, expected: str | None) -> Event:
        name, writer = self.registry.schema_for(schema_id)
        if expected is not None and name != expected:
            raise DecodeError(f"expected {expected}, got {name} (schema id {schema_id})")
        decoder = self._decoders.get(name)
        if decoder is None:
            decoder = self._decoders[name] = _event_decoder(name)
        ours, read = decoder
        if read is None or writer is not ours:
            return _decode_body(data, name, writer)
        event: Event
        event, _, valid = _read_whole(read, data, name)
        # The generated checks only say valid or not; check() lists the reasons.
        return event if valid else event.check()

    def decode_generic(
        self, data: bytes | bytearray | memoryview, expected: str | None = None
    ) -> Event:
        """``decode`` without generated decoders: closure reader → dict → ``from_avro`` → ``check``.

        The reference the generated decoders are tested against (same events, same errors),
        and the path of every schema or writer schema they do not cover.
        """
        if type(data) is not bytes:
            data = bytes(data)
        schema_id = schema_id_of(data)
        name, writer = self.registry.schema_for(schema_id)
        if expected is not None and name != expected:
            raise DecodeError(f"expected {expected}, got {name} (schema id {schema_id})")
        return _decode_body(data, name, writer)

    async def decode_async(
        self, data: bytes | bytearray | memoryview, expected: str | None = None
    ) -> Event:
        """``decode`` after resolving the frame's schema id with the registry if needed.

        An id this codec has resolved once is not resolved again: no await per record.
        """
        if type(data) is not bytes:
            data = bytes(data)
        schema_id = _frame_id(data)
        if schema_id not in self._resolved:
            await self.registry.resolve(schema_id)
            self._resolved.add(schema_id)
        return self._decode(data, schema_id, expected)


def _frame_id(data: bytes) -> int:
    """``schema_id_of`` for ``bytes``, with the common case first."""
    if len(data) < HEADER.size or data[0] != MAGIC:
        schema_id_of(data)  # raises the DecodeError that says what is wrong
    schema_id: int = _SCHEMA_ID.unpack_from(data, 1)[0]
    return schema_id


def _decode_body(data: bytes, name: str, writer: ParsedSchema) -> Event:
    """The generic path: closure reader (or fastavro) → dict → ``from_avro`` → ``check``."""
    record = _read_body(data, name, writer)
    try:
        event = event_class(name).from_avro(record)
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"{name} record lacks a field: {exc}") from exc
    return event.check()


def _event_decoder(schema_name: str) -> tuple[ParsedSchema, ReadEvent | None]:
    """Our parsed schema and the generated reader of ``schema_name`` (``None``: generic path).

    The reader only applies when the writer schema is ours (``writer is`` the parsed schema),
    and only where the generic path has a compiled reader too (else fastavro reads it all).
    """
    decoder = build_decoder(schema_name) if compiled_schema(schema_name) is not None else None
    return parsed_schema(schema_name), None if decoder is None else decoder.read


@functools.cache
def compiled_schema(schema_name: str) -> CompiledSchema | None:
    """The compiled encoder/decoder of our ``.avsc`` (``None``: stay on fastavro)."""
    return compile_schema(avro_schema_doc(schema_name))


def _read_whole(read: Callable[[bytes, int], Any], data: bytes, name: str) -> Any:
    """``read(data, offset)`` of a body after the frame header — a tuple whose second item
    is the end offset — with its failures as ``DecodeError``, and trailing bytes refused."""
    try:
        out = read(data, HEADER.size)
    except EOFError:
        raise DecodeError(f"truncated Avro body for {name}") from None
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"corrupt Avro body for {name}: {type(exc).__name__}: {exc}") from exc
    end = out[1]
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing byte(s) after the {name} Avro body")
    return out


def _read_body(data: bytes, name: str, writer: ParsedSchema) -> dict[str, Any]:
    reader = parsed_schema(name)
    compiled = compiled_schema(name) if writer is reader else None
    if compiled is not None:
        result: dict[str, Any] = _read_whole(compiled.read, data, name)[0]
        return result
    buf = io.BytesIO(data)
    buf.seek(HEADER.size)
    try:
        if writer is reader:
            record = fastavro.schemaless_reader(buf, writer, None)
        else:
            record = fastavro.schemaless_reader(buf, writer, reader)
    except EOFError:
        raise DecodeError(f"truncated Avro body for {name}") from None
    except (ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, struct.error) as exc:
        raise DecodeError(f"corrupt Avro body for {name}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # fastavro raises its own SchemaResolutionError etc.
        raise DecodeError(f"undecodable Avro body for {name}: {type(exc).__name__}: {exc}") from exc
    rest = len(data) - buf.tell()
    if rest:
        raise DecodeError(f"{rest} trailing byte(s) after the {name} Avro body")
    if not isinstance(record, dict):
        raise DecodeError(f"{name} body is not a record")
    return record


def to_json_bytes(event: Event) -> bytes:
    """The event's JSON document as compact UTF-8 bytes (orjson)."""
    return orjson.dumps(event.to_json())


def from_json_bytes(schema_name: str, data: bytes | str) -> Event:
    """Parse and validate one JSON document of ``schema_name`` into its typed event."""
    cls = event_class(schema_name)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ContractError(f"{schema_name}: not valid JSON: {exc}") from exc
    return cls.from_json(doc)


__all__ = [
    "EVENT_CLASSES",
    "HEADER",
    "MAGIC",
    "AvroCodec",
    "frame",
    "from_json_bytes",
    "schema_id_of",
    "to_json_bytes",
]
