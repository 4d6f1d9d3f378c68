"""JSONL in chunks of parsed documents, with the reference reader's errors and progress.

A chunk is read as whole lines in one bytes object (``RawChunk``: Arrow's JSON
reader takes it as it is, ``eval.columnar.arrow_json``) and parsed, when it must
be, with one ``orjson.loads`` per line through ``map`` (no Python loop); a chunk
holding a blank line, an over-long line, invalid JSON or bad Unicode is re-read
line by line the way ``eval.jsonl.JsonlSource`` reads (bad Unicode as U+FFFD), so
the records, the error and its line number are the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from eval.jsonl import MAX_LINE_BYTES, line_error
from eval.jsontext import loads
from eval.progress import ProgressBar
from schemas.errors import InputError

CHUNK_BYTES = 8 * 1024 * 1024  # Arrow's reader spreads one over the cores in 2 MiB blocks
_NEWLINE = ord("\n")
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DocChunk:
    """Parsed documents and the 1-based file line of each.

    ``error`` is the error of the first bad line, which ends the chunk: the caller
    decodes the documents before it first (an earlier line's bad field is reported
    first, as the reference does), then calls ``raise_pending``.
    """

    docs: list[Any]
    lines: Sequence[int]
    error: InputError | None = None
    text: bytes | None = None  # the chunk's raw lines, for cheap "is this word there" checks

    def raise_pending(self) -> None:
        """Raise the chunk's line error, if it has one."""
        if self.error is not None:
            raise self.error


class _Irregular(Exception):
    """The chunk needs the line-by-line reading."""


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Whole lines of a JSONL file as one bytes object; ``first`` is its first line's number."""

    data: bytes
    first: int
    ends: IntArray  # where each newline is

    @classmethod
    def of(cls, data: bytes, first: int) -> RawChunk:
        """The chunk of ``data`` (whole lines; the last may lack its newline)."""
        return cls(data, first, np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE))

    @property
    def count(self) -> int:
        """Lines in the chunk."""
        return len(self.ends) + (not self.data.endswith(b"\n"))

    def lines(self) -> list[bytes]:
        """The lines as ``readlines`` gives them (each with its newline)."""
        parts = self.data.split(b"\n")
        tail = parts.pop()
        lines = [part + b"\n" for part in parts]
        if tail:
            lines.append(tail)
        return lines


def read_raw_chunks(
    path: Path,
    name: str,
    progress: ProgressBar | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[RawChunk]:
    """A JSONL file in chunks of about ``chunk_bytes`` that end at a line's end."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open {name}: {exc.strerror or exc}") from exc
    total = os.fstat(handle.fileno()).st_size
    done = 0
    last = 0
    with handle:
        while data := handle.read(chunk_bytes):
            if not data.endswith(b"\n"):
                data += handle.readline()  # the rest of the line (or the file's last bytes)
            raw = RawChunk.of(data, last + 1)
            done += len(data)
            if progress is not None:
                progress.update(name, last + raw.count, done, total)
            yield raw
            last += raw.count
    if progress is not None:
        progress.finish(name, last, total)


def parse_chunk(path: Path, raw: RawChunk) -> DocChunk:
    """A raw chunk's documents, parsed one ``orjson.loads`` per line (see the module doc)."""
    lines = raw.lines()
    try:
        if max(map(len, lines)) > MAX_LINE_BYTES:
            raise _Irregular
        docs = list(map(orjson.loads, lines))
        return DocChunk(docs, range(raw.first, raw.first + raw.count), text=raw.data)
    except (orjson.JSONDecodeError, _Irregular):
        return _line_by_line(path, lines, raw.first)


def _line_by_line(path: Path, raw: list[bytes], first: int) -> DocChunk:
    docs: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(raw, start=first):
        if len(line) > MAX_LINE_BYTES:
            reason = f"line longer than {MAX_LINE_BYTES} bytes"
            return DocChunk(docs, lines, line_error(path, number, reason))
        if not line.strip():
            continue
        try:
            docs.append(loads(line))
        except orjson.JSONDecodeError as exc:
            return DocChunk(docs, lines, line_error(path, number, f"invalid JSON: {exc}"))
        lines.append(number)
    return DocChunk(docs, lines)
