"""Read the configured exposures and outcomes into columns and join them (memory mode).

JSONL inputs are read in chunks of whole lines (``eval.columnar.lines``): a plainly
regular chunk goes through Arrow's JSON reader (``eval.columnar.arrow_json``), any
other is parsed with orjson and decoded under the reference rules. Any other
source type yields decoded records through its reference reader, added in batches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from eval.columnar.arrow_columns import ArrowCodes, exposure_chunk, outcome_chunk
from eval.columnar.arrow_json import (
    EXPOSURE_SCHEMA,
    OUTCOME_SCHEMA,
    has_null_value,
    read_table,
)
from eval.columnar.exposures import ExposureBuilder
from eval.columnar.interner import Interner
from eval.columnar.join import CaseColumns, join_columns
from eval.columnar.lines import CHUNK_BYTES, DocChunk, RawChunk, parse_chunk, read_raw_chunks
from eval.columnar.outcomes import OutcomeBuilder
from eval.join import JoinTally
from eval.jsonl import JsonlSource
from eval.progress import ProgressBar
from eval.records import exposure_from_json, outcome_from_json
from eval.sources import DatasetConfig, RecordSource, gc_paused, open_source
from eval.timesplit import Window

BATCH = 65_536


class _Builder(Protocol):
    def add_chunk(self, chunk: DocChunk, path: Path) -> None: ...

    def add_records(self, records: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class LoadedCases:
    """The joined cases, the join's tally and the strings of each slice key's codes."""

    cases: CaseColumns
    tally: JoinTally
    slice_values: list[list[str]]


def load_cases(
    dataset: DatasetConfig,
    slice_keys: Sequence[str],
    *,
    window: Window | None = None,
    progress: ProgressBar | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> LoadedCases:
    """Exposures then outcomes, read fully, filtered by the window and joined."""
    exp_source = open_source(dataset.exposures, "exposures", exposure_from_json, progress)
    out_source = open_source(dataset.outcomes, "outcomes", outcome_from_json, progress)
    items = Interner()
    exposures = ExposureBuilder(items, sorted(slice_keys))
    outcomes = OutcomeBuilder(items)
    with gc_paused():
        _fill(exposures, exp_source, progress, chunk_bytes, _regular_exposures(exposures))
        _fill(outcomes, out_source, progress, chunk_bytes, _regular_outcomes(outcomes))
    tally = JoinTally()
    cases = join_columns(exposures.build(), outcomes.build(), tally, window)
    return LoadedCases(cases, tally, [codes.strings() for codes in exposures.slice_codes])


def _fill(
    builder: _Builder,
    source: RecordSource[Any],
    progress: ProgressBar | None,
    chunk_bytes: int,
    regular: _Regular,
) -> None:
    if isinstance(source, JsonlSource):
        raws = read_raw_chunks(source.path, source.name, progress, chunk_bytes=chunk_bytes)
        for raw, table in _tables_ahead(raws, regular.schema):
            if table is None or not regular.add(raw, table):
                builder.add_chunk(parse_chunk(source.path, raw), source.path)
        return
    records: Iterable[Any] = iter(source)
    while batch := list(islice(records, BATCH)):
        builder.add_records(batch)


def _tables_ahead(
    raws: Iterator[RawChunk], schema: pa.Schema
) -> Iterator[tuple[RawChunk, pa.Table | None]]:
    """Each chunk with its Arrow table, the next one read while the caller decodes this
    one (Arrow's reader releases the GIL: the decoding overlaps its gaps)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recsys-eval-json") as pool:
        pending: deque[tuple[RawChunk, Future[pa.Table | None]]] = deque()
        for raw in raws:
            pending.append((raw, pool.submit(read_table, raw, schema)))
            if len(pending) > 1:
                done, table = pending.popleft()
                yield done, table.result()
        while pending:
            done, table = pending.popleft()
            yield done, table.result()


@dataclass(frozen=True)
class _Regular:
    """How a plainly regular chunk's table is added; ``add`` answers False (nothing
    added) when the reference must read the chunk."""

    schema: pa.Schema
    add: Callable[[RawChunk, pa.Table], bool]


def _regular_exposures(builder: ExposureBuilder) -> _Regular:
    items = ArrowCodes(builder.item_codes)
    slices = [ArrowCodes(codes) for codes in builder.slice_codes]

    def add(raw: RawChunk, table: pa.Table) -> bool:
        chunk = exposure_chunk(
            table, items, builder.slice_keys, slices, may_hold_null=lambda: has_null_value(raw.data)
        )
        if chunk is None:
            return False
        builder.append(chunk.request_ids, chunk.ts, chunk.lengths, chunk.items, chunk.slices)
        return True

    return _Regular(EXPOSURE_SCHEMA, add)


def _regular_outcomes(builder: OutcomeBuilder) -> _Regular:
    def add(raw: RawChunk, table: pa.Table) -> bool:
        chunk = outcome_chunk(table)
        if chunk is None:
            return False
        builder.append(chunk.request_ids, chunk.items, chunk.kinds, chunk.ts)
        return True

    return _Regular(OUTCOME_SCHEMA, add)
