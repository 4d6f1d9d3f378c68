"""JSONL reader: one JSON document per line, blank lines skipped, errors name file and line.

Invalid UTF-8 and lone surrogate escapes in strings read as U+FFFD, as in Go
(``eval.jsontext``). A line that is not JSON, a ts that is not RFC 3339 or a
non-string context value aborts the run with "jsonl parse error at line N" (as the
original), prefixed with the file path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from eval.jsontext import loads
from eval.progress import ProgressBar
from schemas.errors import InputError

T = TypeVar("T")

MAX_LINE_BYTES = 16 * 1024 * 1024  # the original's bufio.Scanner buffer


class JsonlSource(Generic[T]):
    """Iterate decoded records of a JSONL file; ``location`` names the last line read."""

    def __init__(
        self,
        path: Path,
        decode: Callable[[Any], T],
        *,
        name: str,
        progress: ProgressBar | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self._decode = decode
        self._progress = progress
        self.line = 0

    def location(self) -> str:
        """``path:line`` of the record most recently yielded."""
        return f"{self.path}:{self.line}"

    def __iter__(self) -> Iterator[T]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise InputError(
                f"{self.path}: cannot open {self.name}: {exc.strerror or exc}"
            ) from exc
        total = os.fstat(handle.fileno()).st_size
        done = 0
        with handle:
            for number, raw in enumerate(handle, start=1):
                self.line = number
                done += len(raw)
                if self._progress is not None:
                    self._progress.update(self.name, number, done, total)
                if len(raw) > MAX_LINE_BYTES:
                    raise self._error(number, f"line longer than {MAX_LINE_BYTES} bytes")
                if not raw.strip():
                    continue
                try:
                    document = loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise self._error(number, f"invalid JSON: {exc}") from None
                try:
                    record = self._decode(document)
                except ValueError as exc:
                    raise self._error(number, str(exc)) from None
                yield record
        if self._progress is not None:
            self._progress.finish(self.name, self.line, total)

    def _error(self, number: int, reason: str) -> InputError:
        return line_error(self.path, number, reason)


def line_error(path: Path, number: int, reason: str) -> InputError:
    """The error for a bad line: ``path:N: jsonl parse error at line N: reason``."""
    return InputError(f"{path}:{number}: jsonl parse error at line {number}: {reason}")
