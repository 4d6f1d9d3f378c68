"""What every mode runner gets (``RunContext``) and returns (``RunResult``), plus input helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from eval.baseline import Baseline
from eval.config import EvalConfig
from eval.errors import UnsortedInputError
from eval.join import Case, JoinTally, join_memory, join_sorted
from eval.progress import ProgressBar
from eval.records import Exposure, Outcome, exposure_from_json, outcome_from_json
from eval.report.envelope import RunMetadata
from eval.sources import DatasetConfig, RecordSource, open_source, read_all
from eval.timesplit import Window, within
from schemas.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    """A run's inputs: parsed configs, metadata, optional baseline and the output path."""

    dataset: DatasetConfig
    config: EvalConfig
    meta: RunMetadata
    output: str
    baseline: Baseline | None = None
    experiment_id: str | None = None
    progress: ProgressBar | None = None

    @property
    def stream(self) -> bool:
        """True in ``scale.mode: stream`` (sorted merge-join)."""
        return self.config.scale.mode == "stream"


@dataclass(frozen=True)
class RunResult:
    """A finished run: the report, the exit code and any extra JSON files to write."""

    report: dict[str, Any]
    exit_code: int = 0
    extra_files: dict[str, Any] = field(default_factory=dict)


def exposures_source(ctx: RunContext) -> RecordSource[Exposure]:
    return open_source(ctx.dataset.exposures, "exposures", exposure_from_json, ctx.progress)


def outcomes_source(ctx: RunContext) -> RecordSource[Outcome]:
    return open_source(ctx.dataset.outcomes, "outcomes", outcome_from_json, ctx.progress)


class TimeRange:
    """Min and max ``ts`` seen while records stream past (the decision's dataset window)."""

    def __init__(self) -> None:
        self.first: datetime | None = None
        self.last: datetime | None = None

    def track(self, records: Iterable[T]) -> Iterator[T]:
        """Pass records through, widening the range by each record's ts."""
        for record in records:
            ts = getattr(record, "ts", None)
            if ts is not None:
                if self.first is None or ts < self.first:
                    self.first = ts
                if self.last is None or ts > self.last:
                    self.last = ts
            yield record


def joined_cases(
    ctx: RunContext, *, window: Window | None = None
) -> tuple[Iterator[Case], JoinTally, TimeRange]:
    """Join exposures to outcomes with the configured semantics.

    Memory mode reads both inputs, filters by the time-split window and joins (first
    exposure wins). Stream mode merge-joins straight from the files, so the cases are
    produced lazily and an unsorted record is reported with its file and line.
    """
    exp_source, out_source = exposures_source(ctx), outcomes_source(ctx)
    span = TimeRange()
    tally = JoinTally()
    if ctx.stream:
        if window is not None:
            raise ConfigError("offline.time_split is not supported with scale.mode stream")
        exposures = span.track(exp_source)
        outcomes = span.track(out_source)
        return (
            _located(join_sorted(exposures, outcomes, tally), exp_source, out_source),
            tally,
            span,
        )
    exposure_list: Iterable[Exposure] = span.track(read_all(exp_source))
    outcome_list: Iterable[Outcome] = span.track(read_all(out_source))
    if window is not None:
        exposure_list = within(exposure_list, window)
        outcome_list = within(outcome_list, window)
    return iter(join_memory(list(exposure_list), list(outcome_list), tally)), tally, span


def _located(
    cases: Iterator[Case], exp_source: RecordSource[Exposure], out_source: RecordSource[Outcome]
) -> Iterator[Case]:
    """Re-raise an unsorted-input error with the file and line of the offending record."""
    try:
        yield from cases
    except UnsortedInputError as exc:
        source: RecordSource[Any] = exp_source if exc.stream == "exposures" else out_source
        raise UnsortedInputError(f"{source.location()}: {exc}", stream=exc.stream) from None


Runner = Callable[[RunContext], RunResult]
