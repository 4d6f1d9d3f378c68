"""JSONL in chunks of parsed documents, with the reference reader's errors and progress.

A chunk is parsed with one ``orjson.loads`` per line through ``map`` (no Python
loop); a chunk holding a blank line, an over-long line or invalid JSON is re-read
line by line the way ``eval.jsonl.JsonlSource`` reads, so the error and its line
number are the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from eval.jsonl import MAX_LINE_BYTES, line_error
from eval.progress import ProgressBar
from schemas.errors import InputError

CHUNK_BYTES = 2 * 1024 * 1024


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


def read_chunks(
    path: Path,
    name: str,
    progress: ProgressBar | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[DocChunk]:
    """Parsed documents of a JSONL file, a few MiB at a time, blank lines skipped."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open {name}: {exc.strerror or exc}") from exc
    total = os.fstat(handle.fileno()).st_size
    done = 0
    last = 0
    with handle:
        while raw := handle.readlines(chunk_bytes):
            first = last + 1
            last += len(raw)
            sizes = list(map(len, raw))
            done += sum(sizes)
            if progress is not None:
                progress.update(name, last, done, total)
            try:
                if max(sizes) > MAX_LINE_BYTES:
                    raise _Irregular
                docs = list(map(orjson.loads, raw))
                chunk = DocChunk(docs, range(first, last + 1), text=b"".join(raw))
            except (orjson.JSONDecodeError, _Irregular):
                chunk = _line_by_line(path, raw, first)
            yield chunk
    if progress is not None:
        progress.finish(name, last, total)


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
            docs.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            return DocChunk(docs, lines, line_error(path, number, f"invalid JSON: {exc}"))
        lines.append(number)
    return DocChunk(docs, lines)
