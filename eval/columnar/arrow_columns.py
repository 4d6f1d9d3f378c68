"""Exposure and outcome columns from the Arrow table of a regular chunk.

The tables come from ``eval.columnar.arrow_json``; the columns are the ones the
orjson route builds (``eval.columnar.exposures`` / ``outcomes``), with the
reference's reading of every field: null and a missing key alike (``""``, rank 0,
no ts), items ordered by rank. A decoder answers None, before it touched any
interner, for what it cannot prove the reference reads that way: a null inside
an items list, a context that is not an object of strings, a null context value
where the chunk may hold one, a ts the vectorised check leaves to the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eval.columnar.exposures import rank_order
from eval.columnar.interner import IntArray, Interner
from eval.columnar.timestamps import SIMPLE_WIDTH, simple_micros, to_micros


@dataclass(frozen=True, slots=True)
class ExposureChunk:
    request_ids: pa.Array
    ts: IntArray
    lengths: IntArray
    items: IntArray  # item codes in rank order
    slices: IntArray  # (exposures, slice keys) value codes


@dataclass(frozen=True, slots=True)
class OutcomeChunk:
    request_ids: pa.Array
    items: list[str]
    kinds: list[str]
    ts: IntArray


def _strings(table: pa.Table, name: str) -> pa.Array:
    """A string column with null (or the absent column) read as ``""``."""
    if name not in table.column_names:
        return _blank(table.num_rows)
    return pc.fill_null(table.column(name).combine_chunks(), "")


def _blank(rows: int) -> pa.Array:
    return pa.repeat("", rows)  # a string array


def _ts(table: pa.Table) -> IntArray | None:
    """Epoch µs; None when a stamp is one the reference rejects (it says why)."""
    column = table.column("ts").combine_chunks()
    simple = _simple_stamps(column)
    if simple is not None:
        return simple
    try:
        return to_micros(column.to_pylist())
    except (ValueError, OverflowError):
        return None


def _simple_stamps(column: pa.Array) -> IntArray | None:
    """Straight from Arrow's buffers when every stamp is a valid ``…T…Z`` of 20 bytes
    (the usual log); None for any other column."""
    n = len(column)
    if n == 0 or column.null_count:
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset :][: n + 1]
    if not (np.diff(offsets) == SIMPLE_WIDTH).all():
        return None
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    micros, ok = simple_micros(data.reshape(n, SIMPLE_WIDTH))
    return micros if ok.all() else None


_LOOKUP_TABLE_ROWS = 4  # vocabulary rows per array row up to which index_in pays


class ArrowCodes:
    """An interner's codes for Arrow string arrays.

    The strings of an array are looked up in C++ against an Arrow copy of the
    interner's strings in code order (so a string's index there is its code); the
    strings it has not seen get their codes from the interner, as on any route.
    """

    def __init__(self, interner: Interner) -> None:
        self.interner = interner
        self._known = pa.array([], type=pa.string())

    def codes(self, values: pa.Array) -> IntArray:
        if len(self.interner) > _LOOKUP_TABLE_ROWS * max(len(values), 1):
            return self._through_dictionary(values)
        at = pc.index_in(values, value_set=self._synced())
        if at.null_count:  # strings no route has coded yet: code them, in order of sight
            fresh = pc.unique(pc.filter(values, pc.is_null(at)))
            self.interner.encode(fresh.to_pylist())
            at = pc.index_in(values, value_set=self._synced())
        codes: IntArray = at.to_numpy(zero_copy_only=False).astype(np.int64)
        return codes

    def _through_dictionary(self, values: pa.Array) -> IntArray:
        """For a large vocabulary (``index_in`` hashes the whole of it on every call):
        the array's distinct strings looked up in the interner's dictionary."""
        encoded = pc.dictionary_encode(values)
        mapping = self.interner.encode(encoded.dictionary.to_pylist())
        codes: IntArray = mapping[encoded.indices.to_numpy(zero_copy_only=False)]
        return codes

    def _synced(self) -> pa.Array:
        """The copy, with the strings other routes gave codes to since."""
        seen = len(self._known)
        if len(self.interner) != seen:
            tail = pa.array(self.interner.strings_from(seen), type=pa.string())
            self._known = pa.concat_arrays([self._known, tail])
        return self._known


def _context_columns(
    table: pa.Table, keys: Sequence[str], may_hold_null: Callable[[], bool]
) -> list[pa.Array] | None:
    """Per slice key the context value of each row (``""`` when absent)."""
    blank = _blank(table.num_rows)
    if "context" not in table.column_names:
        return [blank for _ in keys]
    context = table.column("context").combine_chunks()
    if pa.types.is_null(context.type):
        return [blank for _ in keys]
    if not pa.types.is_struct(context.type):
        return None
    fields = [context.type.field(i) for i in range(context.type.num_fields)]
    if not all(pa.types.is_string(field.type) for field in fields):
        return None  # a number, object, list or all-null value: the reference decides
    present = pc.is_valid(context)
    children = {field.name: pc.struct_field(context, field.name) for field in fields}
    gaps = any(pc.any(pc.and_(present, pc.is_null(c))).as_py() for c in children.values())
    if gaps and may_hold_null():
        return None  # a missing key or a null value: Arrow cannot tell which
    columns = {name: pc.fill_null(child, "") for name, child in children.items()}
    return [columns.get(key, blank) for key in keys]


def exposure_chunk(
    table: pa.Table,
    items: ArrowCodes,
    slice_keys: Sequence[str],
    slice_codes: Sequence[ArrowCodes],
    *,
    may_hold_null: Callable[[], bool],
) -> ExposureChunk | None:
    """The chunk's exposure columns, or None (nothing interned) when the reference
    must read it."""
    lists = table.column("items").combine_chunks()
    flat = lists.flatten()
    if flat.null_count:
        return None  # a null item: the reference explains
    contexts = _context_columns(table, slice_keys, may_hold_null)
    if contexts is None:
        return None
    ts = _ts(table)
    if ts is None:
        return None
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy().astype(np.int64)
    ranks = pc.fill_null(pc.struct_field(flat, "rank"), 0).to_numpy().astype(np.int64)
    codes = items.codes(pc.fill_null(pc.struct_field(flat, "item_id"), ""))
    if not _counting_up(ranks, lengths):
        codes = codes[rank_order(ranks, lengths)]
    slices = np.zeros((table.num_rows, len(slice_keys)), dtype=np.int64)
    for j, values in enumerate(contexts):
        slices[:, j] = slice_codes[j].codes(values)
    return ExposureChunk(_strings(table, "request_id"), ts, lengths, codes, slices)


def outcome_chunk(table: pa.Table) -> OutcomeChunk | None:
    """The chunk's outcome columns, or None when a ts needs the reference."""
    ts = _ts(table)
    if ts is None:
        return None
    return OutcomeChunk(
        _strings(table, "request_id"),
        _strings(table, "item_id").to_pylist(),
        _strings(table, "event_type").to_pylist(),
        ts,
    )


def _counting_up(ranks: IntArray, lengths: IntArray) -> bool:
    """True for the usual log: every list of one length n, ranked 1..n."""
    if len(lengths) == 0 or not (lengths == lengths[0]).all():
        return False
    width = int(lengths[0])
    expected = np.broadcast_to(np.arange(1, width + 1), (len(lengths), width))
    return bool(np.array_equal(ranks.reshape(len(lengths), width), expected))
