"""RFC 3339 timestamps to epoch microseconds, vectorised for the common ``…T…Z`` form.

The definition stays ``eval.timeparse.parse_rfc3339``: the array check accepts only
``YYYY-MM-DDTHH:MM:SSZ`` strings that are valid dates and times (a strict subset of
what it accepts) and hands every other string to it, so the values and the errors
are the reference's. A missing ts (``None``) is ``NO_TS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from eval.timeparse import parse_rfc3339

IntArray = npt.NDArray[np.int64]
NO_TS = np.iinfo(np.int64).min
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_SHAPE = b"0000-00-00T00:00:00Z"
_DIGITS = np.frombuffer(_SHAPE, dtype=np.uint8) == ord("0")
_SEPARATORS = np.frombuffer(_SHAPE, dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def micros(stamp: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact)."""
    return (stamp - EPOCH) // _MICRO


def _one(value: str | None) -> int:
    return NO_TS if value is None else micros(parse_rfc3339(value))


def to_micros(values: Sequence[str | None]) -> IntArray:
    """Epoch µs of each ts; raises ValueError (the reference's) on an invalid one."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if set(map(type, values)) != {str} or set(map(len, values)) != {len(_SHAPE)}:  # type: ignore[arg-type]
        return np.fromiter(map(_one, values), dtype=np.int64, count=n)
    blob = "".join(values).encode("utf-8")  # type: ignore[arg-type]  # all str, checked above
    if len(blob) != n * len(_SHAPE):  # non-ASCII: not the simple form
        return np.fromiter(map(_one, values), dtype=np.int64, count=n)
    out, ok = simple_micros(np.frombuffer(blob, dtype=np.uint8).reshape(n, len(_SHAPE)))
    for index in np.flatnonzero(~ok).tolist():
        out[index] = _one(values[index])  # the reference parses it, or explains why not
    return out


SIMPLE_WIDTH = len(_SHAPE)


def simple_micros(chars: npt.NDArray[np.uint8]) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Epoch µs of each row of ``chars`` (n × 20 bytes) read as ``YYYY-MM-DDTHH:MM:SSZ``,
    and whether the row is a valid stamp of that form (the others' values are junk)."""
    n = len(chars)
    digits = chars.astype(np.int64) - ord("0")
    shape_ok = np.where(_DIGITS, (digits >= 0) & (digits <= 9), chars == _SEPARATORS).all(axis=1)

    def field(start: int, width: int) -> IntArray:
        out = np.zeros(n, dtype=np.int64)
        for column in range(start, start + width):
            out = out * 10 + digits[:, column]
        return out

    year, month, day = field(0, 4), field(5, 2), field(8, 2)
    hour, minute, second = field(11, 2), field(14, 2), field(17, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    last_day = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    ok = (
        shape_ok
        & (year >= 1)
        & month_ok
        & (day >= 1)
        & (day <= last_day)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
    )
    # days from civil (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms")
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    out: IntArray = ((days * 24 + hour) * 60 + minute) * 60 + second
    out *= 1_000_000
    return out, ok
