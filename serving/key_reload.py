"""``FileKeyRing``: the key ring of a serving replica, following the API-key file.

Keys created or revoked with ``recsys keys`` reach running replicas without a restart:
an authentication looks at the file's identity (mtime, size, inode — a rename by
``serving.key_file.save_keys`` changes the inode even within one mtime tick) at most
every ``check_every_s`` seconds, and a changed file is loaded whole and replaces the
keys. A file that is missing or invalid at that moment keeps the keys loaded before and
logs an error: a broken edit must neither lock every caller out nor let anyone in; it
is read again when it changes again. At start the file must load (``ConfigError``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from schemas.errors import ConfigError
from serving.auth import ApiKey, KeyRing
from serving.key_file import load_keys

log = logging.getLogger(__name__)
CHECK_EVERY_S = 5.0

FileStamp = tuple[int, int, int] | None


def _stamp(path: Path) -> FileStamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FileKeyRing(KeyRing):
    """A ``KeyRing`` over ``path``, re-read when the file changes (module docstring)."""

    def __init__(self, secret: str, path: Path, *, check_every_s: float = CHECK_EVERY_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_every_s = check_every_s
        self._monotonic = monotonic
        self._stamp = _stamp(path)  # before reading: a change in between is seen next time
        super().__init__(secret, load_keys(path))
        self._next_check = monotonic() + check_every_s

    def authenticate(self, raw: str, now_ms: int) -> ApiKey | None:
        self.refresh()
        return super().authenticate(raw, now_ms)

    def refresh(self) -> bool:
        """Reload the file if it is time to look and it changed; True when keys changed."""
        now = self._monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + self.check_every_s
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        if stamp is None:
            log.error("API keys file %s is gone; keeping the %d keys loaded before",
                      self.path, len(self.by_hash))
            return False
        try:
            keys = load_keys(self.path)
        except ConfigError as exc:
            log.error("%s; keeping the %d keys loaded before", exc, len(self.by_hash))
            return False
        self.by_hash = {k.key_hash: k for k in keys}
        log.info("API keys reloaded from %s: %d keys", self.path, len(keys))
        return True
