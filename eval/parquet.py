"""Parquet reader (optional ``parquet`` extra): rows decoded like JSONL documents.

pyarrow is imported lazily; without it the run fails with a clear ConfigError.
Columns carry the record fields (``context`` as a map or struct column, ``items``
as a list of structs, ``ts`` as a string or timestamp column). Errors name the
file and the 1-based row number.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from eval.timeparse import format_rfc3339
from schemas.errors import ConfigError, InputError

T = TypeVar("T")


def _normalize(value: Any) -> Any:
    """Arrow's Python values → JSON-like values (maps arrive as lists of pairs)."""
    if isinstance(value, datetime):
        return format_rfc3339(value)
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            return {str(k): _normalize(v) for k, v in value}
        return [_normalize(v) for v in value]
    return value


class ParquetSource(Generic[T]):
    """Iterate decoded records of a Parquet file batch by batch."""

    def __init__(self, path: Path, decode: Callable[[Any], T], *, name: str) -> None:
        self.path = path
        self.name = name
        self._decode = decode
        self.line = 0

    def location(self) -> str:
        """``path:row`` of the record most recently yielded."""
        return f"{self.path}:row {self.line}"

    def __iter__(self) -> Iterator[T]:
        try:
            pq = importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise ConfigError(
                f"{self.name}: type parquet needs pyarrow; install the 'parquet' extra "
                "(pip install 'recsys-stream[parquet]')"
            ) from None
        try:
            handle = pq.ParquetFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.path}: cannot open {self.name} as Parquet: {exc}") from exc
        for batch in handle.iter_batches(batch_size=65_536):
            for row in batch.to_pylist():
                self.line += 1
                try:
                    yield self._decode(_normalize(row))
                except ValueError as exc:
                    raise InputError(f"{self.path}: row {self.line}: {exc}") from None
