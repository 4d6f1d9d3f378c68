"""Join exposures to outcomes by request_id and measure data quality (spec §1.8).

Pure: values in, values out. The only join key is ``request_id``; there is no
attribution window (an outcome earlier than its exposure still joins) and
``user_id`` is never used. Two modes, with deliberately different duplicate
rules (parity quirk §9.3):

* memory: the first exposure of a request_id wins; later ones are skipped and
  counted in ``duplicate_exposure_request_ids``;
* stream: a merge-join over inputs sorted by request_id; only *consecutive*
  duplicates are counted and they are still emitted as extra cases without
  outcomes.

``JoinTally`` is the reducer both modes (and a live stream) fold records into;
``DataQuality`` is its frozen result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from eval.errors import UnsortedInputError
from eval.records import Exposure, Outcome


@dataclass(frozen=True, slots=True)
class Case:
    """One kept exposure with every outcome that carries its request_id."""

    exposure: Exposure
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True)
class Completeness:
    """``missing`` of ``total`` records lack a required part."""

    total: int
    missing: int

    @property
    def missing_rate(self) -> float:
        """missing / total, 0 when there are no records."""
        return self.missing / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class JoinIntegrity:
    """Join rates as the original reports them in ``data_quality.join_integrity``."""

    exposure_count: int
    outcome_count: int
    exposure_join_rate: float
    outcome_join_rate: float
    assignments_count: int
    assignment_join_rate: float
    duplicate_exposure_request_ids: int


@dataclass(frozen=True, slots=True)
class DataQuality:
    """The ``data_quality`` block: completeness per input and join integrity."""

    exposure_completeness: Completeness
    outcome_completeness: Completeness
    join_integrity: JoinIntegrity
    assignment_completeness: Completeness | None = None


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0 when the denominator is 0 (the Go code's guard)."""
    return numerator / denominator if denominator else 0.0


class JoinTally:
    """Counters of a join, folded record by record (the batch/stream reducer)."""

    def __init__(self) -> None:
        self.exposures = 0
        self.exposures_missing = 0
        self.outcomes = 0
        self.outcomes_missing = 0
        self.kept_with_outcome = 0
        self.outcomes_joined = 0
        self.duplicates = 0

    def add_exposure(self, exposure: Exposure) -> None:
        """Count a raw exposure; an empty request_id or empty items is 'missing'."""
        self.exposures += 1
        if not exposure.request_id or not exposure.item_ids:
            self.exposures_missing += 1

    def add_outcome(self, outcome: Outcome) -> None:
        """Count a raw outcome; an empty request_id or item_id is 'missing'."""
        self.outcomes += 1
        if not outcome.request_id or not outcome.item_id:
            self.outcomes_missing += 1

    def add_case(self, case: Case) -> None:
        """Count a kept case and the outcomes it joined."""
        if case.outcomes:
            self.kept_with_outcome += 1
            self.outcomes_joined += len(case.outcomes)

    def result(
        self,
        *,
        assignments: Completeness | None = None,
        assignments_count: int = 0,
        assigned_exposures: int = 0,
    ) -> DataQuality:
        """Freeze the counters into the report's data-quality block.

        assignment_join_rate = assigned exposures / unique assignments (experiment);
        offline and OPE pass no assignments, so the rate is 0 as in the original.
        """
        integrity = JoinIntegrity(
            exposure_count=self.exposures,
            outcome_count=self.outcomes,
            exposure_join_rate=ratio(self.kept_with_outcome, self.exposures),
            outcome_join_rate=ratio(self.outcomes_joined, self.outcomes),
            assignments_count=assignments_count,
            assignment_join_rate=ratio(assigned_exposures, assignments_count),
            duplicate_exposure_request_ids=self.duplicates,
        )
        return DataQuality(
            exposure_completeness=Completeness(self.exposures, self.exposures_missing),
            outcome_completeness=Completeness(self.outcomes, self.outcomes_missing),
            join_integrity=integrity,
            assignment_completeness=assignments,
        )


def join_memory(
    exposures: Iterable[Exposure], outcomes: Iterable[Outcome], tally: JoinTally
) -> list[Case]:
    """Memory-mode join: group outcomes by request_id, first exposure wins."""
    by_request: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        tally.add_outcome(outcome)
        by_request.setdefault(outcome.request_id, []).append(outcome)
    seen: set[str] = set()
    cases: list[Case] = []
    for exposure in exposures:
        tally.add_exposure(exposure)
        if exposure.request_id in seen:
            tally.duplicates += 1
            continue
        seen.add(exposure.request_id)
        case = Case(exposure, tuple(by_request.get(exposure.request_id, ())))
        tally.add_case(case)
        cases.append(case)
    return cases


def join_sorted(
    exposures: Iterable[Exposure], outcomes: Iterable[Outcome], tally: JoinTally
) -> Iterator[Case]:
    """Stream-mode merge-join over inputs sorted ascending by request_id.

    Raises UnsortedInputError (``stream`` = "exposures" or "outcomes") on the first
    record that is out of order. Consecutive duplicate exposures are counted and
    still yielded, without outcomes (parity quirk §9.3).
    """
    pending = _SortedOutcomes(iter(outcomes), tally)
    previous: str | None = None
    for exposure in exposures:
        tally.add_exposure(exposure)
        rid = exposure.request_id
        if previous is not None and rid < previous:
            raise _unsorted("exposures", rid, previous)
        if rid == previous:
            tally.duplicates += 1
            case = Case(exposure, ())
        else:
            case = Case(exposure, pending.take(rid))
        previous = rid
        tally.add_case(case)
        yield case
    pending.drain()


class _SortedOutcomes:
    """A cursor over sorted outcomes that hands out the run for one request_id."""

    def __init__(self, source: Iterator[Outcome], tally: JoinTally) -> None:
        self._source = source
        self._tally = tally
        self._head: Outcome | None = None
        self._last: str | None = None
        self._advance()

    def _advance(self) -> None:
        head = next(self._source, None)
        if head is not None:
            self._tally.add_outcome(head)
            if self._last is not None and head.request_id < self._last:
                raise _unsorted("outcomes", head.request_id, self._last)
            self._last = head.request_id
        self._head = head

    def take(self, request_id: str) -> tuple[Outcome, ...]:
        """Skip orphans before request_id, then return the outcomes equal to it."""
        while self._head is not None and self._head.request_id < request_id:
            self._advance()
        run: list[Outcome] = []
        while self._head is not None and self._head.request_id == request_id:
            run.append(self._head)
            self._advance()
        return tuple(run)

    def drain(self) -> None:
        """Count (and order-check) the outcomes after the last exposure."""
        while self._head is not None:
            self._advance()


def _unsorted(stream: str, current: str, previous: str) -> UnsortedInputError:
    return UnsortedInputError(
        f"{stream} must be sorted ascending by request_id for scale.mode stream: "
        f"{current!r} comes after {previous!r}",
        stream=stream,
    )
