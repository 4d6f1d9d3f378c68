"""The columnar memory-mode path equals the reference path bit for bit (and errs the same way).

Reference: JsonlSource + the record decoders → window filter → ``join_memory`` →
``evaluate_offline``. Columnar: ``load_cases`` → ``evaluate_columns``. Hypothesis
drives odd inputs through both: duplicate and empty request ids, unsorted and
repeated ranks, empty lists, missing context keys, outcomes outside the lists,
mixed-case event types, long and non-ASCII item ids, and chunks of a few lines.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eval.columnar import interner as interner_module
from eval.columnar.interner import Interner
from eval.columnar.load import load_cases
from eval.columnar.offline import evaluate_columns
from eval.columnar.timestamps import NO_TS, micros, to_micros
from eval.join import JoinTally, join_memory
from eval.jsonl import JsonlSource
from eval.metrics.registry import METRICS, MetricSpec
from eval.offline import evaluate_offline
from eval.records import exposure_from_json, outcome_from_json
from eval.sources import DatasetConfig, SourceConfig, read_all
from eval.timeparse import parse_rfc3339
from eval.timesplit import Window, within
from schemas.errors import InputError

ITEMS = ["i1", "i2", "i3", "i4", "a-rather-long-item-identifier", "é", ""]
KEYS = ["tenant", "surface", "device"]
STAMPS = ["2025-01-01T00:00:00Z", "2025-01-02T10:00:00Z", "2025-01-02T10:00:00.5+02:00", None]

item = st.fixed_dictionaries({"item_id": st.sampled_from(ITEMS), "rank": st.integers(1, 4)})
exposure = st.fixed_dictionaries(
    {
        "request_id": st.sampled_from(["r1", "r2", "r3", "r4", ""]),
        "user_id": st.just("u"),
        "ts": st.sampled_from(STAMPS),
        "items": st.lists(item, max_size=6),
        "context": st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["a", "b", ""])),
    }
)
outcome = st.fixed_dictionaries(
    {
        "request_id": st.sampled_from(["r1", "r2", "r3", "r9", ""]),
        "item_id": st.sampled_from(ITEMS),
        "event_type": st.sampled_from(["click", "Conversion", "view"]),
        "ts": st.sampled_from(STAMPS),
    }
)
spec = st.builds(MetricSpec, st.sampled_from(sorted(METRICS)), st.integers(1, 5))


def _write(path: Path, docs: list[dict[str, Any]]) -> SourceConfig:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return SourceConfig(type="jsonl", path=str(path))


def _reference(
    dataset: DatasetConfig, specs: list[MetricSpec], keys: list[str], window: Window | None
) -> tuple[Any, Any]:
    assert dataset.exposures is not None and dataset.outcomes is not None
    exposures = read_all(JsonlSource(Path(dataset.exposures.path), exposure_from_json, name="e"))
    outcomes = read_all(JsonlSource(Path(dataset.outcomes.path), outcome_from_json, name="o"))
    if window is not None:
        exposures, outcomes = list(within(exposures, window)), list(within(outcomes, window))
    tally = JoinTally()
    cases = join_memory(exposures, outcomes, tally)
    return evaluate_offline(cases, specs, keys, keep_case_values=True), tally.result()


@settings(database=None, max_examples=150, deadline=None)
@given(
    exposures=st.lists(exposure, max_size=12),
    outcomes=st.lists(outcome, max_size=12),
    specs=st.lists(spec, min_size=1, max_size=4, unique=True),
    keys=st.lists(st.sampled_from(KEYS), unique=True, max_size=3),
    windowed=st.booleans(),
    chunk_bytes=st.sampled_from([1, 300, 1 << 20]),
)
def test_columnar_path_equals_the_reference_bit_for_bit(
    exposures: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    specs: list[MetricSpec],
    keys: list[str],
    windowed: bool,
    chunk_bytes: int,
) -> None:
    window = (
        Window(datetime(2025, 1, 2, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC))
        if windowed
        else None
    )
    with tempfile.TemporaryDirectory() as tmp:
        dataset = DatasetConfig(
            exposures=_write(Path(tmp) / "e.jsonl", exposures),
            outcomes=_write(Path(tmp) / "o.jsonl", outcomes),
        )
        expected, expected_quality = _reference(dataset, specs, keys, window)
        loaded = load_cases(dataset, keys, window=window, chunk_bytes=chunk_bytes)
    actual = evaluate_columns(
        loaded.cases, specs, sorted(keys), loaded.slice_values, keep_case_values=True
    )
    assert loaded.tally.result() == expected_quality
    assert (actual.cases, actual.metrics, actual.by_segment) == (
        expected.cases,
        expected.metrics,
        expected.by_segment,
    )
    assert actual.case_values.keys() == expected.case_values.keys()
    for label, values in expected.case_values.items():
        assert np.array_equal(actual.case_values[label], values)


@pytest.mark.parametrize("mix", [interner_module._MIX, np.uint64(0)])
def test_interner_gives_one_code_per_string_on_either_route(
    mix: np.uint64, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with a zero mix every string sharing its first 8 bytes clashes: the dictionary decides
    monkeypatch.setattr(interner_module, "_MIX", mix)
    interner = Interner()
    first = ["abcdefgh1", "abcdefgh2", "x", "a-string-longer-than-15-bytes"]
    second = ["abcdefgh2", "y", "abcdefgh1", "x", "a-string-longer-than-15-bytes", "abcdefgh1"]
    codes = interner.encode_strings(first)
    again = interner.encode_strings(second)
    assert codes is not None and again is not None
    strings = interner.strings()
    assert [strings[c] for c in codes.tolist()] == first
    assert [strings[c] for c in again.tolist()] == second
    assert interner.encode(["y", "x"]).tolist() == again[[1, 3]].tolist()
    assert interner.encode_strings(["a", 1]) is None  # not all strings


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-29T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2025-06-30T12:00:00.123456+02:00",
        "2025-06-30T12:00:00,5Z",
    ],
)
def test_vectorised_timestamps_equal_the_reference(text: str) -> None:
    expected = micros(parse_rfc3339(text))
    assert to_micros([text, None, text]).tolist() == [expected, NO_TS, expected]


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "0000-01-01T00:00:00Z",
    ],
)
def test_vectorised_timestamps_reject_what_the_reference_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)
    with pytest.raises(ValueError):
        to_micros(["2025-01-01T00:00:00Z", text])


@settings(database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(STAMPS[:3] + ["2025-12-31T23:59:59Z", "2000-02-29T01:02:03Z"])))
def test_vectorised_timestamps_equal_the_reference_on_any_mix(texts: list[str | None]) -> None:
    expected = [NO_TS if t is None else micros(parse_rfc3339(t)) for t in texts]
    assert to_micros(texts).tolist() == expected


def test_the_first_bad_line_is_reported_even_when_a_later_line_is_not_json(
    tmp_path: Path,
) -> None:
    good = {"request_id": "r1", "items": [{"item_id": "i1", "rank": 1}]}
    lines = [json.dumps(good), json.dumps({**good, "ts": "yesterday"}), "{not json"]
    dataset = DatasetConfig(
        exposures=_write(tmp_path / "e.jsonl", []), outcomes=_write(tmp_path / "o.jsonl", [])
    )
    (tmp_path / "e.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"e\.jsonl:2: jsonl parse error at line 2: timestamp"):
        load_cases(dataset, [])
