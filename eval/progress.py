"""A quiet-unless-large progress report on stderr for long JSONL reads.

Nothing is printed for the first ``threshold`` lines (100k by default), so small
runs and the goldens keep stderr clean; stdout is never touched. On a terminal the
report is one bar redrawn in place with ``\\r``; anywhere else (a CI log, a file)
it is a plain line every ``every_lines`` lines and one at the end, since ``\\r``
frames would pile up there. ``end_line`` ends a half-drawn bar so that an error or
a message printed next starts on its own line.
"""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """Renders ``name [####....] 42% 1,234,567 lines`` on stderr, throttled."""

    def __init__(
        self,
        stream: TextIO,
        *,
        threshold: int = 100_000,
        interval_s: float = 0.5,
        every_lines: int = 1_000_000,
        terminal: bool | None = None,
    ) -> None:
        self._stream = stream
        self._threshold = threshold
        self._interval = interval_s
        self._every = every_lines
        self._terminal = _is_terminal(stream) if terminal is None else terminal
        self._last = 0.0
        self._shown = False  # a bar is drawn and its line not yet ended
        self._next_plain: dict[str, int] = {}

    def update(self, name: str, lines: int, done_bytes: int, total_bytes: int) -> None:
        """Report progress of one input; drawn only past the threshold, throttled."""
        if lines < self._threshold:
            return
        if not self._terminal:
            if lines >= self._next_plain.get(name, self._threshold):
                self._next_plain[name] = lines + self._every
                self._plain(name, lines, done_bytes, total_bytes)
            return
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._draw(name, lines, done_bytes, total_bytes)

    def finish(self, name: str, lines: int, total_bytes: int) -> None:
        """Report the final 100% state on its own line, if the input was large."""
        if not self._terminal:
            if name in self._next_plain or lines >= self._threshold:
                self._next_plain.pop(name, None)
                self._plain(name, lines, total_bytes, total_bytes)
            return
        if self._shown or lines >= self._threshold:
            self._draw(name, lines, total_bytes, total_bytes)
            self.end_line()

    def end_line(self) -> None:
        """End a bar drawn in place, so the next text starts on a fresh line."""
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False

    def _plain(self, name: str, lines: int, done_bytes: int, total_bytes: int) -> None:
        self._stream.write(f"{name}: {_share(done_bytes, total_bytes):.0%} {lines:,} lines\n")
        self._stream.flush()

    def _draw(self, name: str, lines: int, done_bytes: int, total_bytes: int) -> None:
        share = _share(done_bytes, total_bytes)
        filled = int(share * 30)
        bar = "#" * filled + "." * (30 - filled)
        self._stream.write(f"\r{name} [{bar}] {share:4.0%} {lines:,} lines")
        self._stream.flush()
        self._shown = True


def _share(done_bytes: int, total_bytes: int) -> float:
    return done_bytes / total_bytes if total_bytes else 1.0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
