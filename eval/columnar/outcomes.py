"""Outcome columns: request ids, item codes, relevance, ts and completeness.

Decoded like exposures (``eval.columnar.exposures``): whole-column checks for the
regular shape, the reference ``outcome_from_json`` for any other chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from eval.columnar.exposures import column, or_default, types_within
from eval.columnar.interner import IntArray, Interner
from eval.columnar.lines import DocChunk
from eval.columnar.strings import concat_strings, empty_strings, string_part
from eval.columnar.timestamps import NO_TS, micros, to_micros
from eval.jsonl import line_error
from eval.offline import RELEVANT_EVENTS
from eval.records import Outcome, outcome_from_json

BoolArray = npt.NDArray[np.bool_]
_NONE: type = type(None)
_OPT_STR: frozenset[type] = frozenset({str, _NONE})


@dataclass(frozen=True)
class OutcomeColumns:
    """Outcomes in log order."""

    request_ids: pa.Array  # large_string
    items: IntArray  # item codes, shared with the exposures
    relevant: BoolArray  # a click or conversion (case-insensitive)
    blank: BoolArray  # empty request_id or item_id: 'missing' in completeness
    ts: IntArray  # epoch µs, NO_TS when absent


class OutcomeBuilder:
    """Accumulates outcome columns chunk by chunk."""

    def __init__(self, items: Interner) -> None:
        self.item_codes = items
        self._rids: list[pa.Array] = []
        self._items: list[IntArray] = []
        self._relevant: list[BoolArray] = []
        self._blank: list[BoolArray] = []
        self._ts: list[IntArray] = []
        self._kinds: dict[str, bool] = {}

    def add_chunk(self, chunk: DocChunk, path: Path) -> None:
        """Add the documents of a JSONL chunk, then raise the chunk's line error if any."""
        if not self._add_regular(chunk.docs):
            records = []
            for number, doc in zip(chunk.lines, chunk.docs, strict=True):
                try:
                    records.append(outcome_from_json(doc))
                except ValueError as exc:
                    raise line_error(path, number, str(exc)) from None
            self.add_records(records)
        chunk.raise_pending()

    def add_records(self, records: Sequence[Outcome]) -> None:
        """Add decoded records."""
        self.append(
            [o.request_id for o in records],
            [o.item_id for o in records],
            [o.event_type for o in records],
            np.fromiter(
                (NO_TS if o.ts is None else micros(o.ts) for o in records),
                dtype=np.int64,
                count=len(records),
            ),
        )

    def _add_regular(self, docs: list[Any]) -> bool:
        if not types_within(docs, {dict}):
            return False
        rids = column(docs, "request_id")
        items = column(docs, "item_id")
        kinds = column(docs, "event_type")
        if not (
            types_within(rids, _OPT_STR)
            and types_within(items, _OPT_STR)
            and types_within(kinds, _OPT_STR)
            and types_within(column(docs, "user_id"), _OPT_STR)
            and types_within(column(docs, "value"), frozenset({_NONE, int, float}))
        ):
            return False
        try:
            ts = to_micros(column(docs, "ts"))
        except ValueError:
            return False
        self.append(or_default(rids, ""), or_default(items, ""), or_default(kinds, ""), ts)
        return True

    def append(
        self, rids: list[str] | pa.Array, items: list[str], kinds: list[str], ts: IntArray
    ) -> None:
        """Add decoded columns (null and missing already read as ``""``)."""
        known = self._kinds
        for kind in set(kinds).difference(known):
            known[kind] = kind.lower() in RELEVANT_EVENTS
        rid_part = string_part(rids)
        n = len(rid_part)
        self._rids.append(rid_part)
        self._items.append(self.item_codes.encode(items))
        self._relevant.append(np.fromiter(map(known.__getitem__, kinds), dtype=np.bool_, count=n))
        self._blank.append(empty_strings(rid_part) | _empty(items))
        self._ts.append(ts)

    def build(self) -> OutcomeColumns:
        """The accumulated columns."""
        return OutcomeColumns(
            request_ids=concat_strings(self._rids),
            items=_concat(self._items, np.int64),
            relevant=_concat(self._relevant, np.bool_),
            blank=_concat(self._blank, np.bool_),
            ts=_concat(self._ts, np.int64),
        )


def _empty(values: list[str]) -> BoolArray:
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    empty: BoolArray = lengths == 0
    return empty


def _concat(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
