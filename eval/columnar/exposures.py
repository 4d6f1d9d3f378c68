"""Exposure columns: request ids, ts, rank-ordered item codes and slice-value codes.

``ExposureBuilder.add_chunk`` decodes a chunk of parsed JSONL documents with
C-level passes (``map``/``set`` over whole columns) when every document has the
regular shape and types; any other chunk goes through the reference decoder
``exposure_from_json`` line by line, which accepts what it accepts and raises its
own error for the first bad line. ``add_records`` takes decoded ``Exposure``
records from any source (Parquet, Kafka) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from eval.columnar.interner import IntArray, Interner
from eval.columnar.lines import DocChunk
from eval.columnar.strings import concat_strings, string_part
from eval.columnar.timestamps import NO_TS, micros, to_micros
from eval.jsonl import line_error
from eval.offline import recommended_items
from eval.records import Exposure, exposure_from_json

BoolArray = npt.NDArray[np.bool_]
_NONE: type = type(None)
_STR: frozenset[type] = frozenset({str})
_OPT_STR: frozenset[type] = frozenset({str, _NONE})
_OPT_NUM: frozenset[type] = frozenset({_NONE, int, float})
_OPT_BOOL: frozenset[type] = frozenset({_NONE, bool})
_INT: frozenset[type] = frozenset({int})
_OPT_LIST: frozenset[type] = frozenset({list, _NONE})
_OPT_DICT: frozenset[type] = frozenset({dict, _NONE})
_PROPENSITY_KEYS = ("propensity", "logging_propensity", "target_propensity")


def types_within(values: Iterable[Any], allowed: AbstractSet[type]) -> bool:
    """True when every value's exact type is in ``allowed`` (one C-level pass)."""
    return set(map(type, values)) <= allowed


def column(docs: list[dict[str, Any]], key: str) -> list[Any]:
    """``doc.get(key)`` for every document."""
    return list(map(dict.get, docs, repeat(key)))


def or_default(values: list[Any], default: Any) -> list[Any]:
    """``values`` with ``None`` (JSON null or a missing key) read as Go's zero value."""
    if None in values:
        return [default if v is None else v for v in values]
    return values


@dataclass(frozen=True)
class ExposureColumns:
    """Exposures in log order; items concatenated in rank order, ``lengths`` per exposure."""

    request_ids: pa.Array  # large_string
    ts: IntArray  # epoch µs, NO_TS when absent
    lengths: IntArray
    items: IntArray  # item codes
    slices: IntArray  # (exposures, slice keys): value codes, one column per sorted slice key


class ExposureBuilder:
    """Accumulates exposure columns chunk by chunk."""

    def __init__(self, items: Interner, slice_keys: Sequence[str]) -> None:
        self.item_codes = items
        self.slice_keys = list(slice_keys)
        self.slice_codes = [Interner() for _ in self.slice_keys]
        self._rids: list[pa.Array] = []
        self._ts: list[IntArray] = []
        self._lengths: list[IntArray] = []
        self._items: list[IntArray] = []
        self._slices: list[IntArray] = []

    def add_chunk(self, chunk: DocChunk, path: Path) -> None:
        """Add the documents of a JSONL chunk, then raise the chunk's line error if any."""
        if not self._add_regular(chunk.docs, chunk.text):
            records = []
            for number, doc in zip(chunk.lines, chunk.docs, strict=True):
                try:
                    records.append(exposure_from_json(doc))
                except ValueError as exc:
                    raise line_error(path, number, str(exc)) from None
            self.add_records(records)
        chunk.raise_pending()

    def add_records(self, records: Sequence[Exposure]) -> None:
        """Add decoded records (the reference orders each list by rank)."""
        ordered = [recommended_items(e) for e in records]
        self.append(
            [e.request_id for e in records],
            np.fromiter(
                (NO_TS if e.ts is None else micros(e.ts) for e in records),
                dtype=np.int64,
                count=len(records),
            ),
            [len(ids) for ids in ordered],
            self.item_codes.encode(list(chain.from_iterable(ordered))),
            self._codes_of(
                [[e.context.get(key, "") for e in records] for key in self.slice_keys],
                len(records),
            ),
        )

    def _add_regular(self, docs: list[Any], raw: bytes | None = None) -> bool:
        """Decode a chunk in the common shape; False (nothing added) if it is not.

        ``raw``, the chunk's text, lets items skip the propensity checks when no
        key can be a propensity (the word is absent and no \\u escape could spell it).
        """
        try:
            return self._try_regular(docs, raw)
        except TypeError:  # a document or an item that is not a JSON object
            return False

    def _try_regular(self, docs: list[Any], raw: bytes | None) -> bool:
        rids = column(docs, "request_id")
        items = column(docs, "items")
        contexts = column(docs, "context")
        if not (
            types_within(rids, _OPT_STR)
            and types_within(column(docs, "user_id"), _OPT_STR)
            and types_within(items, _OPT_LIST)
            and types_within(contexts, _OPT_DICT)
            and types_within(column(docs, "latency_ms"), _OPT_NUM)
            and types_within(column(docs, "error"), _OPT_BOOL)
        ):
            return False
        rids, items = or_default(rids, ""), or_default(items, [])
        contexts = or_default(contexts, {})
        if not types_within(chain.from_iterable(map(dict.values, contexts)), _STR):
            return False
        flat = list(chain.from_iterable(items))
        columns = _item_columns(flat, raw is None or b"propensity" in raw or b"\\u" in raw)
        if columns is None:
            return False
        ids, ranks = columns
        if not types_within(ranks, _INT):
            return False
        codes = self.item_codes.encode_strings(ids)
        if codes is None:
            return False
        lengths = list(map(len, items))
        try:
            ts = to_micros(column(docs, "ts"))
            if not _ranks_counting_up(ranks, lengths):
                codes = codes[rank_order(np.array(ranks, dtype=np.int64), lengths)]
        except (ValueError, OverflowError):
            return False  # the reference explains (or, for huge ranks, sorts) it
        self.append(rids, ts, lengths, codes, self._slice_codes(contexts))
        return True

    def _slice_codes(self, contexts: list[dict[str, str]]) -> IntArray:
        """Per context, the code of each slice key's value (missing reads as "")."""
        table = np.zeros((len(contexts), len(self.slice_keys)), dtype=np.int64)
        for j, key in enumerate(self.slice_keys):
            codes = self.slice_codes[j].encode_strings(
                list(map(dict.get, contexts, repeat(key), repeat("")))
            )
            if codes is None:
                raise TypeError("context values are checked to be strings")
            table[:, j] = codes
        return table

    def _codes_of(self, values: list[list[str]], n: int) -> IntArray:
        table = np.zeros((n, len(self.slice_keys)), dtype=np.int64)
        for j, column_values in enumerate(values):
            table[:, j] = self.slice_codes[j].encode(column_values)
        return table

    def append(
        self,
        rids: list[str] | pa.Array,
        ts: IntArray,
        lengths: list[int] | IntArray,
        codes: IntArray,
        slices: IntArray,
    ) -> None:
        """Add decoded columns (items already coded and in rank order)."""
        length_array = np.asarray(lengths, dtype=np.int64)
        self._rids.append(string_part(rids))
        self._ts.append(ts)
        self._lengths.append(length_array)
        self._items.append(codes)
        self._slices.append(slices)

    def build(self) -> ExposureColumns:
        """The accumulated columns."""
        width = len(self.slice_keys)
        return ExposureColumns(
            request_ids=concat_strings(self._rids),
            ts=_concat(self._ts),
            lengths=_concat(self._lengths),
            items=_concat(self._items),
            slices=np.concatenate(self._slices)
            if self._slices
            else np.zeros((0, width), dtype=np.int64),
        )


def _item_columns(
    flat: list[Any], may_have_propensities: bool
) -> tuple[list[Any], list[Any]] | None:
    """Item ids and ranks; None when a propensity has the wrong type."""
    if may_have_propensities and not all(
        types_within(column(flat, key), _OPT_NUM) for key in _PROPENSITY_KEYS
    ):
        return None
    return column(flat, "item_id"), column(flat, "rank")


def _ranks_counting_up(ranks: list[int], lengths: list[int]) -> bool:
    """True for the usual log: every list of one length n, ranked 1..n (no sort needed)."""
    widths = set(lengths)
    if len(widths) != 1:
        return False
    width = widths.pop()
    return ranks == list(range(1, width + 1)) * len(lengths)


def rank_order(ranks: IntArray, lengths: Sequence[int] | IntArray) -> IntArray:
    """Positions that stably sort each list by rank (identity when all are in order)."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    falls = (ranks[1:] < ranks[:-1]) & (rows[1:] == rows[:-1])
    if not falls.any():
        return np.arange(len(ranks))
    order: IntArray = np.lexsort((ranks, rows))  # lexsort is stable, as ``sorted``
    return order


def _concat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
