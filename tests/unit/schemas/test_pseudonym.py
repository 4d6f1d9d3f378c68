"""Pseudonymous user ids (HMAC-SHA256 hex) and the eval_v1 user id fallback (spec §1.10)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from schemas.errors import ConfigError
from schemas.pseudonym import pick_user_id, pseudonymize


def test_rfc4231_test_case_2() -> None:
    # RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?"
    assert pseudonymize("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_key_is_the_salt_and_message_is_the_user_id() -> None:
    expected = hmac.new(b"pepper", "ü-42".encode(), hashlib.sha256).hexdigest()
    assert pseudonymize("ü-42", "pepper") == expected
    assert pseudonymize("pepper", "ü-42") != expected
    assert pseudonymize("u1", "other") != pseudonymize("u1", "pepper")


def test_an_empty_salt_is_refused() -> None:
    with pytest.raises(ConfigError, match="salt"):
        pseudonymize("u1", "")


@pytest.mark.parametrize(
    ("user", "anonymous", "session", "expected"),
    [
        ("h-user", "h-anon", "h-sess", "h-user"),
        (None, "h-anon", "h-sess", "h-anon"),
        ("", "", "h-sess", "h-sess"),
        (None, None, None, "req-1"),
        ("", "", "", "req-1"),
    ],
)
def test_pick_user_id_falls_back_in_order_then_to_request_id(
    user: str | None, anonymous: str | None, session: str | None, expected: str
) -> None:
    assert pick_user_id(user, anonymous, session, "req-1") == expected


def test_remembered_pseudonyms_stay_keyed_by_salt_and_id() -> None:
    """The memo must not answer one salt's pseudonym for another, nor one id's for
    another, however the calls interleave."""
    calls = [("u1", "s1"), ("u1", "s2"), ("u2", "s1"), ("u1", "s1"), ("s1", "u1")] * 3
    for user, salt in calls:
        expected = hmac.new(salt.encode(), user.encode(), hashlib.sha256).hexdigest()
        assert pseudonymize(user, salt) == expected
    with pytest.raises(ConfigError, match="salt"):
        pseudonymize("u1", "")  # a remembered id does not skip the salt check
