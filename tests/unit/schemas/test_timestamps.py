"""RFC 3339 parsing agrees with the JSON Schema format check and with datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rfc3339_validator import validate_rfc3339

from schemas.errors import ContractError
from schemas.timestamps import is_rfc3339, ms_to_rfc3339, now_rfc3339, rfc3339_to_ms
from tests.unit.schemas.strategies import PROPERTY, QUICK, rfc3339

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
        ("1969-12-31t23:59:59.999z", -1),  # RFC 3339 allows lower case (so does the schema)
        ("2024-12-31t22:00:00.5-02:00", 1_735_689_600_500),
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


def _like_datetime(text: str) -> int:
    base, rest = text[:19], text[19:]
    fraction = ""
    if rest.startswith("."):
        digits = rest[1:].rstrip("Z").split("+")[0].split("-")[0]
        fraction, rest = digits, rest[1 + len(digits) :]
    zone = "+00:00" if rest == "Z" else rest
    moment = datetime.fromisoformat(base + zone)
    return (moment - EPOCH) // timedelta(milliseconds=1) + int(fraction[:3].ljust(3, "0"))


@QUICK
@given(rfc3339())
def test_every_valid_timestamp_parses_like_datetime(text: str) -> None:
    assert is_rfc3339(text)
    assert rfc3339_to_ms(text) == _like_datetime(text)


@QUICK
@given(rfc3339(), rfc3339())
def test_cached_halves_combine_like_datetime(a: str, b: str) -> None:
    rfc3339_to_ms(a), rfc3339_to_ms(b)  # the date, head and tail of each are cached now
    for text in (a[:19] + b[19:], b[:19] + a[19:], a[:10] + b[10:], b[:10] + a[10:]):
        assert rfc3339_to_ms(text) == _like_datetime(text)


@QUICK
@given(st.integers(min_value=-(10**12), max_value=10**13))
def test_milliseconds_format_and_parse_back(ms: int) -> None:
    assert rfc3339_to_ms(ms_to_rfc3339(ms)) == ms


@st.composite
def near_timestamps(draw: st.DrawFn) -> str:
    """Valid timestamps with one character replaced, inserted or deleted, or none."""
    text = draw(rfc3339())
    at = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from("0123456789-:.TtZz+ \n") | st.characters())
    how = draw(st.sampled_from(["keep", "replace", "insert", "delete"]))
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    if how == "insert":
        return text[:at] + char + text[at:]
    if how == "delete":
        return text[:at] + text[at + 1 :]
    return text


@PROPERTY
@given(near_timestamps() | st.text(max_size=30))
def test_the_cached_check_answers_like_the_json_schema_format_check(text: str) -> None:
    expected = bool(validate_rfc3339(text.upper()))  # what jsonschema's date-time checks
    assert is_rfc3339(text) is expected
    assert is_rfc3339(text) is expected  # again, from the caches


@pytest.mark.parametrize("base", ["2024-02-29T23:59:59.1+23:59", "2023-12-31T00:00:00Z\n"])
def test_every_one_character_edit_is_judged_like_the_reference(base: str) -> None:
    alphabet = "0123456789-:.TtZz+ \n"
    edits = {base[:at] + base[at + 1 :] for at in range(len(base))}
    for at in range(len(base) + 1):
        edits |= {base[:at] + c + base[at + 1 :] for c in alphabet}
        edits |= {base[:at] + c + base[at:] for c in alphabet}
    for text in sorted(edits):
        assert is_rfc3339(text) is bool(validate_rfc3339(text.upper())), text


def test_now_is_valid() -> None:
    assert is_rfc3339(now_rfc3339())


def test_ms_to_rfc3339_zero_pads_early_years() -> None:
    from schemas.timestamps import is_rfc3339, ms_to_rfc3339, rfc3339_to_ms

    ms = rfc3339_to_ms("0999-12-31T23:59:59.250Z")
    text = ms_to_rfc3339(ms)
    assert text == "0999-12-31T23:59:59.250Z" and is_rfc3339(text)
    assert ms_to_rfc3339(0) == "1970-01-01T00:00:00.000Z"


@QUICK
@given(st.lists(st.tuples(st.integers(min_value=-(10**12), max_value=10**13),
                          st.integers(min_value=-1500, max_value=1500)), min_size=1, max_size=8))
def test_ms_to_rfc3339_matches_datetime_across_the_remembered_second(
        walks: list[tuple[int, int]]) -> None:
    """Each case formats a time and then one within ±1.5 s of it (the same second, the
    next or the previous one), so the kept date-and-seconds head is both reused and
    replaced; every answer must equal datetime's."""
    for start, step in walks:
        for ms in (start, start + step, start):
            d = EPOCH + timedelta(milliseconds=ms)
            expected = (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
                        f"{d.second:02d}.{d.microsecond // 1000:03d}Z")
            assert ms_to_rfc3339(ms) == expected
