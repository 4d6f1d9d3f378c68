"""RFC 3339 timestamps: the ``ts`` strings of every event, as validated and as epoch milliseconds.

Events keep ``ts`` as the exact string the producer wrote (so JSON round-trips unchanged);
these helpers turn it into epoch milliseconds (UTC) when a stream needs a number.

What counts as valid is exactly what the JSON Schema ``format: date-time`` check accepts
(``jsonschema`` runs ``rfc3339-validator`` on the upper-cased string):
``YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)``, ``T`` and ``Z`` in either case (RFC 3339
§5.6 allows lower case), no leap seconds, year ≥ 1, real calendar days.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import TypeVar

from rfc3339_validator import validate_rfc3339

from schemas.errors import ContractError

T = TypeVar("T")

# Same grammar as rfc3339_validator.RFC3339_REGEX, with the parts captured.
_RFC3339 = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d+))?"
    r"(?:(Z)|([+-])([01]\d|2[0-3]):([0-5]\d))$",
    re.ASCII,
)


# is_rfc3339 splits a timestamp where the grammar of rfc3339_validator.RFC3339_REGEX splits:
# 19 fixed-width characters ``YYYY-MM-DDTHH:MM:SS`` (with the calendar check), then the
# fraction and zone. A stream's timestamps share few distinct seconds and few distinct tails
# (".123Z"), so each half's answer is cached (about 5x faster than validate_rfc3339 per
# event); a cache that fills up is simply emptied, and long tails are never kept. A new
# second is judged as its day (cached: the calendar check) and its time of day (a regex).
_TAIL = re.compile(r"(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$", re.ASCII)
_CLOCK = re.compile(r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d", re.ASCII)
_SECONDS_VALID: dict[str, bool] = {}
_DAY_VALID: dict[str, bool] = {}
_TAIL_VALID: dict[str, bool] = {}
_MAX_CACHED = 4096
_MAX_TAIL = 16  # ".123456789+01:00"


def _remember(cache: dict[str, T], key: str, value: T) -> T:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = value
    return value


def is_rfc3339(value: str) -> bool:
    """True when ``value`` passes the JSON Schema ``date-time`` format check."""
    if _is_upper_rfc3339(value):
        return True
    upper = value.upper()  # a lower-case "t" or "z" (rare: only failures pay for this)
    return upper != value and _is_upper_rfc3339(upper)


def _is_upper_rfc3339(value: str) -> bool:
    """``rfc3339-validator``'s answer for ``value`` as it is (upper-case T and Z)."""
    seconds = value[:19]
    valid = _SECONDS_VALID.get(seconds)
    if valid is None:
        # 19 characters then "Z" pass the reference check only if those 19 are a valid
        # date and time of day: the fraction is optional and "Z" a complete zone.
        day = value[:10]
        day_valid = _DAY_VALID.get(day)
        if day_valid is None:
            day_valid = _remember(_DAY_VALID, day, bool(validate_rfc3339(day + "T00:00:00Z")))
        valid = _remember(
            _SECONDS_VALID, seconds, day_valid and _CLOCK.fullmatch(value, 10, 19) is not None
        )
    if not valid:
        return False
    tail = value[19:]
    valid = _TAIL_VALID.get(tail)
    if valid is None:
        valid = _TAIL.match(tail) is not None
        if len(tail) <= _MAX_TAIL:
            _remember(_TAIL_VALID, tail, valid)
    return valid


def rfc3339_to_ms(value: str) -> int:
    """Epoch milliseconds (UTC) of an RFC 3339 timestamp; sub-millisecond digits are truncated.

    Raises ``ContractError`` when ``value`` is not a valid RFC 3339 date-time.
    """
    seconds = _SECONDS_EPOCH.get(value[:19])
    if seconds is None:
        days = _DATE_DAYS.get(value[:10])
        time_of_day = _TIME_OF_DAY.match(value, 10, 19) if days is not None else None
        if days is not None and time_of_day is not None:
            hour, minute, second = time_of_day.group(1, 2, 3)
            seconds = days * 86_400 + int(hour) * 3600 + int(minute) * 60 + int(second)
    if seconds is not None:
        adjust = _TAIL_MS.get(value[19:])
        if adjust is not None:
            return seconds * 1000 + adjust
    return _parse_to_ms(value)


# A timestamp is a date, a time of day (the 19-character head of is_rfc3339) and a tail. A
# date or a tail that was part of a valid timestamp is valid in any other, so once a whole
# timestamp parsed, each part's share of the result is cached: the date's epoch days (and
# the head's epoch seconds), the tail's milliseconds less its zone offset. A time of day is
# checked by the grammar's own pattern (its ranges are all there is to check).
_TIME_OF_DAY = re.compile(r"T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$", re.ASCII)
_SECONDS_EPOCH: dict[str, int] = {}
_DATE_DAYS: dict[str, int] = {}
_TAIL_MS: dict[str, int] = {}


def _parse_to_ms(given: str) -> int:
    value = given.upper()  # "t" and "z" may be lower case; digits and signs have no case
    m = _RFC3339.match(value)
    if m is None or not is_rfc3339(value):
        raise ContractError(f"{given!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    frac, zulu, sign, off_h, off_m = m.group(7, 8, 9, 10, 11)
    days = calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)) // 86_400
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    adjust = int((frac or "0")[:3].ljust(3, "0"))
    if zulu is None:
        offset = int(off_h) * 3600 + int(off_m) * 60
        adjust -= (offset if sign == "+" else -offset) * 1000
    _remember(_SECONDS_EPOCH, value[:19], seconds)
    _remember(_DATE_DAYS, value[:10], days)
    tail = value[19:]
    if len(tail) <= _MAX_TAIL:
        _remember(_TAIL_MS, tail, adjust)
    return seconds * 1000 + adjust


_LAST_SECOND: tuple[int, str] = (-1, "")


def ms_to_rfc3339(epoch_ms: int) -> str:
    """The RFC 3339 UTC string (millisecond precision, ``Z``) of epoch milliseconds.

    The date-and-seconds head of the last second formatted is kept: a server formats
    "now" for every request, and a stream's event times move forward, so most calls only
    append the milliseconds (one f-string instead of ``time.gmtime`` and six fields)."""
    global _LAST_SECOND
    seconds, millis = divmod(epoch_ms, 1000)
    last_seconds, head = _LAST_SECOND
    if seconds != last_seconds:
        t = time.gmtime(seconds)
        # strftime's %Y does not zero-pad years before 1000 on glibc; RFC 3339 needs 4
        # digits.
        head = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"
                f"{t.tm_min:02d}:{t.tm_sec:02d}.")
        _LAST_SECOND = (seconds, head)
    return f"{head}{millis:03d}Z"


def now_rfc3339() -> str:
    """The current UTC time as an RFC 3339 string with millisecond precision."""
    return ms_to_rfc3339(time.time_ns() // 1_000_000)
