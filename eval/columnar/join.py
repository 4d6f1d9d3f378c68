"""Memory-mode join on columns (spec §1.8), the twin of ``eval.join.join_memory``.

The time-split window filters exposures and outcomes independently first; then the
first exposure of a request_id wins (later ones are counted as duplicates) and
every outcome with that request_id joins it. The counts go into the same
``JoinTally``; the kept exposures become the cases, with their relevant items as
(case, item) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eval.columnar.exposures import BoolArray, ExposureColumns
from eval.columnar.interner import IntArray
from eval.columnar.outcomes import OutcomeColumns
from eval.columnar.strings import empty_strings
from eval.columnar.timestamps import NO_TS, micros
from eval.join import JoinTally
from eval.timesplit import Window


@dataclass(frozen=True)
class CaseColumns:
    """The joined cases: rank-ordered item codes per case, slice codes, relevant pairs."""

    lengths: IntArray
    items: IntArray
    slices: IntArray  # (cases, slice keys)
    relevant_cases: IntArray  # with relevant_items: the distinct (case, item) pairs,
    relevant_items: IntArray  # sorted by case then item code

    @property
    def cases(self) -> int:
        """Number of cases."""
        return len(self.lengths)


def _window_mask(ts: IntArray, window: Window) -> BoolArray:
    inside: BoolArray = (ts != NO_TS) & (ts >= micros(window.start)) & (ts <= micros(window.end))
    return inside


def join_columns(
    exposures: ExposureColumns,
    outcomes: OutcomeColumns,
    tally: JoinTally,
    window: Window | None = None,
) -> CaseColumns:
    """Join as the reference memory mode does, filling ``tally`` with its counts."""
    rids, lengths, items, slices = (
        exposures.request_ids,
        exposures.lengths,
        exposures.items,
        exposures.slices,
    )
    out_rids, out_items, relevant, blank = (
        outcomes.request_ids,
        outcomes.items,
        outcomes.relevant,
        outcomes.blank,
    )
    if window is not None:
        keep = _window_mask(exposures.ts, window)
        rids = rids.filter(pa.array(keep))
        items = items[np.repeat(keep, lengths)]
        lengths, slices = lengths[keep], slices[keep]
        keep = _window_mask(outcomes.ts, window)
        out_rids = out_rids.filter(pa.array(keep))
        out_items, relevant, blank = out_items[keep], relevant[keep], blank[keep]
    n, m = len(rids), len(out_rids)
    tally.outcomes += m
    tally.outcomes_missing += int(blank.sum())
    tally.exposures += n
    blank_rid = empty_strings(rids)
    tally.exposures_missing += int((blank_rid | (lengths == 0)).sum())
    # request ids coded in order of first sight: the first exposure of code c is case c
    encoded = pc.dictionary_encode(rids)
    code = _numpy(encoded.indices).astype(np.int64)
    kept = np.ones(n, dtype=np.bool_)
    kept[1:] = code[1:] > np.maximum.accumulate(code)[:-1]
    tally.duplicates += n - int(kept.sum())
    owner = _numpy(pc.fill_null(pc.index_in(out_rids, value_set=encoded.dictionary), -1))
    joined = owner >= 0
    case_of_outcome = owner[joined].astype(np.int64)
    tally.outcomes_joined += len(case_of_outcome)
    tally.kept_with_outcome += len(np.unique(case_of_outcome))
    width = max(int(out_items.max(initial=0)), int(items.max(initial=0))) + 1
    wanted = relevant[joined]
    pairs = np.unique(case_of_outcome[wanted] * width + out_items[joined][wanted])
    return CaseColumns(
        lengths=lengths[kept],
        items=items[np.repeat(kept, lengths)],
        slices=slices[kept],
        relevant_cases=pairs // width,
        relevant_items=pairs % width,
    )


def _numpy(values: pa.Array) -> Any:
    return values.to_numpy(zero_copy_only=False)
