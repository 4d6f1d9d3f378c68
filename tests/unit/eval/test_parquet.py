"""Parquet inputs (optional ``parquet`` extra): same records and numbers as JSONL."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eval.parquet import ParquetSource
from eval.records import exposure_from_json
from schemas.errors import ConfigError, InputError
from tests.unit.eval.conftest import RunCli
from tests.unit.eval.support import FIXTURES, GOLDEN, TINY, assert_json_close


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (TINY / name).read_text().splitlines() if line]


def _dataset(tmp_path: Path, exposures: Path, outcomes: Path) -> Path:
    path = tmp_path / "dataset.yaml"
    path.write_text(
        f"exposures: {{type: parquet, path: '{exposures}'}}\n"
        f"outcomes: {{type: parquet, path: '{outcomes}'}}\n"
    )
    return path


def test_offline_golden_from_parquet(tmp_path: Path, run_cli: RunCli) -> None:
    exposures, outcomes = tmp_path / "e.parquet", tmp_path / "o.parquet"
    pq.write_table(pa.Table.from_pylist(_rows("exposures.jsonl")), exposures)
    pq.write_table(pa.Table.from_pylist(_rows("outcomes.jsonl")), outcomes)
    dataset = _dataset(tmp_path, exposures, outcomes)
    config = FIXTURES / "offline.golden.yaml"
    assert run_cli(dataset, config, name="first.json")[0] == 0
    code, report = run_cli(dataset, config, "--baseline", str(tmp_path / "first.json"))
    assert code == 0
    assert_json_close(report, json.loads((GOLDEN / "offline.json").read_text()))


def test_map_context_and_timestamp_columns(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            ("request_id", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("items", pa.list_(pa.struct([("item_id", pa.string()), ("rank", pa.int64())]))),
            ("context", pa.map_(pa.string(), pa.string())),
        ]
    )
    table = pa.Table.from_pylist(
        [
            {
                "request_id": "r1",
                "ts": datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC),
                "items": [{"item_id": "i1", "rank": 1}],
                "context": [("tenant", "t1")],
            }
        ],
        schema=schema,
    )
    path = tmp_path / "e.parquet"
    pq.write_table(table, path)
    (record,) = list(ParquetSource(path, exposure_from_json, name="exposures"))
    assert record.context == {"tenant": "t1"}
    assert record.ts == datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert record.items[0].item_id == "i1" and record.items[0].rank == 1


def test_bad_row_names_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    rows = [
        {"request_id": "r1", "ts": "2025-01-01T00:00:00Z"},
        {"request_id": "r2", "ts": "yesterday"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(
        InputError, match=r"e\.parquet: row 2: timestamp 'yesterday' is not RFC3339"
    ):
        list(ParquetSource(path, exposure_from_json, name="exposures"))


def test_missing_pyarrow_is_a_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.import_module

    def without_pyarrow(name: str, package: str | None = None) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_pyarrow)
    with pytest.raises(
        ConfigError, match=r"type parquet needs pyarrow; install the 'parquet' extra"
    ):
        list(ParquetSource(tmp_path / "e.parquet", exposure_from_json, name="exposures"))
