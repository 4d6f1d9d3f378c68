"""RFC 3339 timestamps as Go's ``time.Parse(time.RFC3339, s)`` accepts them."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

# Go's RFC3339 layout: date 'T' time, optional fraction ('.' or ','), then 'Z' or ±hh:mm.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)


@functools.lru_cache(maxsize=65_536)  # logs repeat timestamps (many events per second)
def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware datetime; raise ValueError otherwise."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"timestamp {text!r} is not RFC3339 (want e.g. 2025-01-01T00:00:00Z)")
    if match.group(7) is None or len(match.group(7)) <= 6:
        try:  # the C fast path; it accepts 'Z' and ',' since Python 3.11
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # e.g. 24:00:00 or day 31 of a short month: the checked path explains it
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    offset = "+00:00" if zone == "Z" else zone
    if int(offset[1:3]) > 23 or int(offset[4:6]) > 59:
        raise ValueError(f"timestamp {text!r} has an out-of-range zone offset")
    try:
        stamp = datetime.fromisoformat(
            f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro:06d}{offset}"
        )
    except ValueError as exc:
        raise ValueError(f"timestamp {text!r} is not a valid date-time: {exc}") from exc
    return stamp


def format_rfc3339(stamp: datetime) -> str:
    """Format as Go's RFC3339 in UTC (``Z``), with a fraction only when non-zero."""
    utc = stamp.astimezone(UTC)
    base = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        base += f".{utc.microsecond:06d}".rstrip("0")
    return base + "Z"


def run_stamp(stamp: datetime) -> str:
    """The ``YYYYMMDDTHHMMSSZ`` suffix of a run_id (UTC)."""
    return stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
