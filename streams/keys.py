"""Composite table and message keys: parts joined by the unit separator ␟ (0x1f)."""

from __future__ import annotations

SEP = "\x1f"


def join_key(*parts: str) -> str:
    return SEP.join(parts)


def split_key(key: str) -> list[str]:
    return key.split(SEP)
