"""A small progress line on stderr for long jobs (stdout stays clean for results)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints ``label: done/total (rate/s)`` at most every ``every_s`` seconds when enabled."""

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        enabled: bool,
        every_s: float = 0.5,
        stream: TextIO | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.every_s = every_s
        self.stream = stream or sys.stderr
        self.done = 0
        self._start = time.monotonic()
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._render(now)

    def _render(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        of = f"/{self.total}" if self.total else ""
        pct = f" {100 * self.done / self.total:5.1f}%" if self.total else ""
        self.stream.write(f"\r{self.label}: {self.done}{of}{pct} ({rate:,.0f}/s)")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._render(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)
