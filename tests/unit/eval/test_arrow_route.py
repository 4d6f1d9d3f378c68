"""The Arrow route of the memory mode reads what the reference reads, and hands back
everything Arrow would read differently (``eval.columnar.arrow_json``).

Each case is raw JSONL that Arrow's reader accepts or mangles where the reference
(JsonlSource + the record decoders) does something else: a top-level ``null``
(which crashes pyarrow's reader outright), NaN, a byte-order mark, two objects on one
line, blank lines, null context values, null items, ``1.0`` ranks. The columnar
load must give the reference's result, or fail with the reference's error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from eval.columnar import arrow_columns
from eval.columnar import load as load_module
from eval.columnar.arrow_columns import ArrowCodes
from eval.columnar.arrow_json import EXPOSURE_SCHEMA, has_null_value, plain_lines, read_table
from eval.columnar.interner import Interner
from eval.columnar.lines import RawChunk, read_raw_chunks
from eval.columnar.load import load_cases
from eval.columnar.offline import evaluate_columns
from eval.metrics.registry import MetricSpec
from eval.sources import DatasetConfig, SourceConfig
from schemas.errors import InputError
from tests.unit.eval.test_columnar import _reference

SPECS = [MetricSpec("ndcg", 3), MetricSpec("precision", 2), MetricSpec("coverage", 3)]
KEYS = ["device", "tenant"]


def _exposure(rid: str, items: list[str], **context: str) -> str:
    ranked = [{"item_id": item, "rank": n + 1} for n, item in enumerate(items)]
    doc = {"request_id": rid, "ts": "2025-01-02T10:00:00Z", "items": ranked, "context": context}
    return json.dumps(doc, separators=(",", ":"))


GOOD = [
    _exposure("r1", ["a", "b", "c"], tenant="t1", device="ios"),
    _exposure("r2", ["b", "c", "d"], tenant="t2", device="web"),
    _exposure("r3", ["d", "a"], tenant="t1", device="web"),
]
OUTCOMES = [
    {"request_id": "r1", "item_id": "b", "event_type": "click", "ts": "2025-01-02T10:00:05Z"},
    {"request_id": "r2", "item_id": "d", "event_type": "conversion"},
    {"request_id": "r3", "item_id": "a", "event_type": "Click", "ts": "2025-01-02T10:00:09Z"},
]
CASES = {
    "regular": "\n".join(GOOD) + "\n",
    "no final newline": "\n".join(GOOD),
    "crlf": "\r\n".join(GOOD) + "\r\n",
    "a lone carriage return between objects": GOOD[0] + "\r" + GOOD[1] + "\n" + GOOD[2] + "\n",
    "escaped newline and surrogate pair": GOOD[0]
    + '\n{"request_id":"r\\n\\ud83d\\ude00","context":{"tenant":"t\\u00e9"}}\n',
    "blank line": GOOD[0] + "\n\n" + GOOD[1] + "\n   \n" + GOOD[2] + "\n",
    "leading whitespace": GOOD[0] + "\n  " + GOOD[1] + "\n" + GOOD[2] + "\n",
    "top-level null": GOOD[0] + "\nnull\n" + GOOD[1] + "\n",
    "top-level array": GOOD[0] + "\n[1]\n",
    "two objects on a line": GOOD[0] + GOOD[1] + "\n" + GOOD[2] + "\n",
    "NaN latency": GOOD[0] + '\n{"request_id":"r9","latency_ms":NaN}\n',
    "NaN in an unknown key": GOOD[0] + '\n{"request_id":"r9","x":{"y":[NaN]}}\n',
    "NaN in an item": GOOD[0]
    + '\n{"request_id":"r9","items":[{"item_id":"a","rank":1,"propensity":NaN}]}\n',
    "Infinity latency": GOOD[0] + '\n{"request_id":"r9","latency_ms":-Infinity}\n',
    "byte-order mark": "\ufeff" + "\n".join(GOOD) + "\n",
    "null context value": GOOD[0] + '\n{"request_id":"r9","context":{"tenant":null}}\n',
    "spaced null context value": GOOD[0] + '\n{"request_id":"r9","context":{"tenant": \tnull}}\n',
    "null elsewhere, keys vary": GOOD[0] + '\n{"request_id":"r9","user_id":null,"context":{}}\n',
    "the word null in a string": GOOD[0] + '\n{"request_id":"null","context":{"device":"x"}}\n',
    "number context value": GOOD[0] + '\n{"request_id":"r9","context":{"tenant":7}}\n',
    "object context value": GOOD[0] + '\n{"request_id":"r9","context":{"tenant":{"a":"b"}}}\n',
    "context not an object": GOOD[0] + '\n{"request_id":"r9","context":"t1"}\n',
    "null item": GOOD[0] + '\n{"request_id":"r9","items":[null]}\n',
    "float rank": GOOD[0] + '\n{"request_id":"r9","items":[{"item_id":"a","rank":1.0}]}\n',
    "ranks out of order": '{"request_id":"r1","items":[{"item_id":"a","rank":3},'
    '{"item_id":"b","rank":1},{"item_id":"c","rank":2},{"item_id":"d","rank":1}]}\n'
    + GOOD[1] + "\n",
    "null and missing fields": '{"request_id":null,"items":null,"context":null}\n'
    '{"items":[{"item_id":null,"rank":null},{}]}\n' + GOOD[2] + "\n",
    "bad ts": GOOD[0] + '\n{"request_id":"r9","ts":"2025-02-30T00:00:00Z"}\n',
    "repeated key": GOOD[0] + '\n{"request_id":"r8","request_id":"r9"}\n',
    "string latency": GOOD[0] + '\n{"request_id":"r9","latency_ms":"3"}\n',
    "bad UTF-8": GOOD[0] + '\n{"request_id":"\udcff"}\n',
    "lone surrogate escape": GOOD[0] + '\n{"request_id":"\\ud800"}\n',
    "unknown keys of odd types": GOOD[0] + '\n{"request_id":"r9","extra":[1,{"a":[]}]}\n',
}


def _dataset(tmp_path: Path, exposures: str) -> DatasetConfig:
    exp = tmp_path / "e.jsonl"
    exp.write_bytes(exposures.encode("utf-8", "surrogateescape"))
    out = tmp_path / "o.jsonl"
    out.write_text("".join(json.dumps(o) + "\n" for o in OUTCOMES))
    return DatasetConfig(
        exposures=SourceConfig(type="jsonl", path=str(exp)),
        outcomes=SourceConfig(type="jsonl", path=str(out)),
    )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 20])
def test_the_columnar_load_reads_what_the_reference_reads(
    tmp_path: Path, name: str, chunk_bytes: int
) -> None:
    dataset = _dataset(tmp_path, CASES[name])
    try:
        expected, quality = _reference(dataset, SPECS, KEYS, None)
    except InputError as exc:
        with pytest.raises(InputError) as raised:
            load_cases(dataset, KEYS, chunk_bytes=chunk_bytes)
        assert str(raised.value) == str(exc)
        return
    loaded = load_cases(dataset, KEYS, chunk_bytes=chunk_bytes)
    actual = evaluate_columns(loaded.cases, SPECS, sorted(KEYS), loaded.slice_values)
    assert loaded.tally.result() == quality
    assert (actual.cases, actual.metrics, actual.by_segment) == (
        expected.cases,
        expected.metrics,
        expected.by_segment,
    )


def test_regular_chunks_take_the_arrow_route_and_odd_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []  # chunks read the reference way, by first line
    parse = load_module.parse_chunk

    def counting(path: Path, raw: RawChunk) -> Any:
        parsed.append(raw.first)
        return parse(path, raw)

    monkeypatch.setattr(load_module, "parse_chunk", counting)
    for name, reference_reads in [
        ("regular", False),
        ("the word null in a string", False),
        ("null elsewhere, keys vary", True),
        ("blank line", True),
        ("ranks out of order", False),
    ]:
        parsed.clear()
        load_cases(_dataset(tmp_path, CASES[name]), KEYS)
        assert parsed == ([1] if reference_reads else []), name  # one chunk of exposures


def _plain(data: bytes) -> bool:
    return plain_lines(data, RawChunk.of(data, 1).ends)


def test_plain_lines_wants_one_object_at_the_start_of_every_line() -> None:
    assert _plain(b'{"a":1}\n{"a":2}\n')
    assert _plain(b'{"a":1}\n{"a":2}')
    assert not _plain(b'{"a":1}\n\n{"a":2}\n')
    assert not _plain(b'{"a":1}\nnull\n')
    assert not _plain(b' {"a":1}\n')
    assert not _plain(b'\xef\xbb\xbf{"a":1}\n')
    assert not _plain(b'{"a":"\xff"}\n')
    def table(data: bytes) -> Any:
        return read_table(RawChunk.of(data, 1), EXPOSURE_SCHEMA)

    assert table(b'{"request_id":"a"}{"request_id":"b"}\n') is None
    assert table(b'{"request_id":"a","x":[1,NaN]}\n') is None
    rows = table(b'{"request_id":"a"}\n{"request_id":"b"}\n')
    assert rows is not None and rows.column("request_id").to_pylist() == ["a", "b"]


def test_has_null_value_finds_every_spelling_of_a_member_null() -> None:
    assert has_null_value(b'{"a":null}')
    assert has_null_value(b'{"a": null}')
    assert has_null_value(b'{"a":\n\tnull}')
    assert not has_null_value(b'{"a":"null"}')
    assert not has_null_value(b'{"nullable":"x"}')


def test_raw_chunks_end_at_line_ends_and_number_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"aa\nbbbb\n\nc")
    chunks = list(read_raw_chunks(path, "x", chunk_bytes=4))
    assert [(c.data, c.first, c.count) for c in chunks] == [
        (b"aa\nbbbb\n", 1, 2),
        (b"\nc", 3, 2),
    ]
    assert chunks[1].lines() == [b"\n", b"c"]


@pytest.mark.parametrize("rows_per_value", [0, 1_000_000])  # dictionary route, index_in route
def test_arrow_codes_agree_with_the_interner_on_either_route(
    rows_per_value: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrow_columns, "_LOOKUP_TABLE_ROWS", rows_per_value)
    interner = Interner()
    interner.encode(["x", "y"])
    codes = ArrowCodes(interner)
    first = ["b", "x", "a", "b", ""]
    got = codes.codes(pa.array(first))
    interner.encode(["z", "a"])  # another route codes strings in between
    second = ["z", "b", "q", "y"]
    again = codes.codes(pa.array(second))
    strings = interner.strings()
    assert [strings[c] for c in got.tolist()] == first
    assert [strings[c] for c in again.tolist()] == second
    assert len(strings) == len(set(strings)) == 7  # x y b a "" z q: one code per string
