"""RFC 3339 parsing agrees with the JSON Schema format check and with datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.errors import ContractError
from schemas.timestamps import is_rfc3339, ms_to_rfc3339, now_rfc3339, rfc3339_to_ms
from tests.unit.schemas.strategies import QUICK, rfc3339

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2025-01-01T00:00:00Z", 1_735_689_600_000),
        ("2025-01-01T00:00:00.999999999Z", 1_735_689_600_999),
        ("2025-01-01T01:30:00+01:30", 1_735_689_600_000),
        ("2024-12-31T22:00:00.5-02:00", 1_735_689_600_500),
        ("1969-12-31T23:59:59.999Z", -1),
    ],
)
def test_known_instants(text: str, ms: int) -> None:
    assert rfc3339_to_ms(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01",
        "2025-01-01T00:00:00",
        "2025-02-29T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "0000-01-01T00:00:00Z",
        "",
    ],
)
def test_invalid_timestamps_raise(text: str) -> None:
    assert not is_rfc3339(text)
    with pytest.raises(ContractError, match="is not an RFC 3339 date-time"):
        rfc3339_to_ms(text)


@QUICK
@given(rfc3339())
def test_every_valid_timestamp_parses_like_datetime(text: str) -> None:
    assert is_rfc3339(text)
    base, rest = text[:19], text[19:]
    fraction = ""
    if rest.startswith("."):
        digits = rest[1:].rstrip("Z").split("+")[0].split("-")[0]
        fraction, rest = digits, rest[1 + len(digits) :]
    zone = "+00:00" if rest == "Z" else rest
    moment = datetime.fromisoformat(base + zone)
    expected = (moment - EPOCH) // timedelta(milliseconds=1) + int(fraction[:3].ljust(3, "0"))
    assert rfc3339_to_ms(text) == expected


@QUICK
@given(st.integers(min_value=-(10**12), max_value=10**13))
def test_milliseconds_format_and_parse_back(ms: int) -> None:
    assert rfc3339_to_ms(ms_to_rfc3339(ms)) == ms


def test_now_is_valid() -> None:
    assert is_rfc3339(now_rfc3339())


def test_ms_to_rfc3339_zero_pads_early_years() -> None:
    from schemas.timestamps import is_rfc3339, ms_to_rfc3339, rfc3339_to_ms

    ms = rfc3339_to_ms("0999-12-31T23:59:59.250Z")
    text = ms_to_rfc3339(ms)
    assert text == "0999-12-31T23:59:59.250Z" and is_rfc3339(text)
    assert ms_to_rfc3339(0) == "1970-01-01T00:00:00.000Z"
