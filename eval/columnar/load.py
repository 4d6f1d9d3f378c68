"""Read the configured exposures and outcomes into columns and join them (memory mode).

JSONL inputs are read in parsed chunks (``eval.columnar.lines``); any other source
type yields decoded records through its reference reader, added in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from eval.columnar.exposures import ExposureBuilder
from eval.columnar.interner import Interner
from eval.columnar.join import CaseColumns, join_columns
from eval.columnar.lines import CHUNK_BYTES, DocChunk, read_chunks
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
        _fill(exposures, exp_source, progress, chunk_bytes)
        _fill(outcomes, out_source, progress, chunk_bytes)
    tally = JoinTally()
    cases = join_columns(exposures.build(), outcomes.build(), tally, window)
    return LoadedCases(cases, tally, [codes.strings() for codes in exposures.slice_codes])


def _fill(
    builder: _Builder, source: RecordSource[Any], progress: ProgressBar | None, chunk_bytes: int
) -> None:
    if isinstance(source, JsonlSource):
        for chunk in read_chunks(source.path, source.name, progress, chunk_bytes=chunk_bytes):
            builder.add_chunk(chunk, source.path)
        return
    records: Iterable[Any] = iter(source)
    while batch := list(islice(records, BATCH)):
        builder.add_records(batch)
