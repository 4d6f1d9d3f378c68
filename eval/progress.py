"""A quiet-unless-large progress bar on stderr for long JSONL reads.

Nothing is printed for the first ``threshold`` lines (100k by default), so small
runs and the goldens keep stderr clean; stdout is never touched.
"""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """Renders ``name [####....] 42% 1,234,567 lines`` on one stderr line, throttled."""

    def __init__(
        self, stream: TextIO, *, threshold: int = 100_000, interval_s: float = 0.5
    ) -> None:
        self._stream = stream
        self._threshold = threshold
        self._interval = interval_s
        self._last = 0.0
        self._shown = False

    def update(self, name: str, lines: int, done_bytes: int, total_bytes: int) -> None:
        """Report progress of one input; drawn only past the threshold, at most every interval."""
        if lines < self._threshold:
            return
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._draw(name, lines, done_bytes, total_bytes)

    def finish(self, name: str, lines: int, total_bytes: int) -> None:
        """Draw the final 100% state and end the line, if the bar was ever shown."""
        if self._shown or lines >= self._threshold:
            self._draw(name, lines, total_bytes, total_bytes)
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False

    def _draw(self, name: str, lines: int, done_bytes: int, total_bytes: int) -> None:
        share = done_bytes / total_bytes if total_bytes else 1.0
        filled = int(share * 30)
        bar = "#" * filled + "." * (30 - filled)
        self._stream.write(f"\r{name} [{bar}] {share:4.0%} {lines:,} lines")
        self._stream.flush()
        self._shown = True
