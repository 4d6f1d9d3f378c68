"""Plainly regular JSONL chunks through Arrow's JSON reader (C++, on every core).

The reference decoders (``eval.records``) stay the definition. This route takes a
chunk only when its result is provably theirs and answers None otherwise; the
caller then parses the chunk with orjson under the reference rules, errors and
all. A chunk is taken when:

- every line is one JSON object that starts at the line's first byte: the chunk
  starts with ``{`` (so no byte-order mark either), every newline but a final one
  is followed by ``{``, and Arrow finds as many rows as there are lines (so no
  blank, whitespace-led or two-object lines; and no top-level non-object, which
  crashes pyarrow 26's reader);
- the bytes are valid UTF-8 (Arrow's reader copies string bytes unchecked);
- no float in the table is NaN or infinite: Arrow reads ``NaN``/``Infinity``
  tokens, JSON (and orjson) has none;
- Arrow parses it against the explicit types below (a string where a number is
  due, an integer rank written ``1.0``, a repeated key, bad UTF-8 all fail it);
- no line can exceed the reference's line limit (the chunk is shorter than it).

What Arrow cannot tell apart, null and a missing key, the reference reads alike
everywhere except for context values (a null one is kept as ``""``, a missing one
is absent): the decoders of the table reject a chunk holding both a null context
value and the word ``null`` after a colon (``has_null_value``).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from eval.columnar.lines import IntArray, RawChunk
from eval.jsonl import MAX_LINE_BYTES

_PROPENSITY = pa.float64()
EXPOSURE_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("user_id", pa.string()),
        ("ts", pa.string()),
        (
            "items",
            pa.list_(
                pa.struct(
                    [
                        ("item_id", pa.string()),
                        ("rank", pa.int64()),
                        ("propensity", _PROPENSITY),
                        ("logging_propensity", _PROPENSITY),
                        ("target_propensity", _PROPENSITY),
                    ]
                )
            ),
        ),
        ("latency_ms", pa.float64()),
        ("error", pa.bool_()),
    ]
)
OUTCOME_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("ts", pa.string()),
        ("value", pa.float64()),
    ]
)
_BLOCK_BYTES = 2 * 1024 * 1024  # a few blocks per chunk keep both cores busy
_BRACE = ord("{")
_SPACED_NULL = re.compile(rb":[ \t\r\n]+null")


def plain_lines(data: bytes, ends: IntArray) -> bool:
    """True when every line (``ends``: the newline positions) starts with ``{``, no line
    can be over the reference's limit and the bytes are valid UTF-8."""
    if not data.startswith(b"{") or len(data) > MAX_LINE_BYTES:
        return False
    starts = ends[:-1] + 1 if len(ends) and ends[-1] == len(data) - 1 else ends + 1
    if not (np.frombuffer(data, dtype=np.uint8)[starts] == _BRACE).all():
        return False
    return _utf8(data)


def _utf8(data: bytes) -> bool:
    """True for valid UTF-8 (Arrow's reader does not check string bytes)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _finite(values: pa.Array) -> bool:
    """True when no float anywhere in ``values`` is NaN or infinite (JSON has neither:
    Arrow read a ``NaN``/``Infinity`` token)."""
    kind = values.type
    if pa.types.is_floating(kind):
        return pc.all(pc.is_finite(values)).as_py() is not False
    if pa.types.is_struct(kind):
        return all(_finite(pc.struct_field(values, i)) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _finite(values.flatten())
    return True


def read_table(raw: RawChunk, schema: pa.Schema) -> pa.Table | None:
    """The chunk's lines as a table of ``schema`` (plus any other keys, typed by
    inference), or None when the chunk is not plainly regular."""
    data = raw.data
    if not plain_lines(data, raw.ends):
        return None
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowException, ValueError):  # ArrowInvalid, UnicodeDecodeError, …
        return None
    if table.num_rows != raw.count:
        return None
    if not all(_finite(column.combine_chunks()) for column in table.columns):
        return None
    return table


def has_null_value(data: bytes) -> bool:
    """True when ``data`` may hold a JSON null as an object member's value."""
    if b"null" not in data:
        return False
    if b":null" in data or b": null" in data:
        return True
    return _SPACED_NULL.search(data) is not None
