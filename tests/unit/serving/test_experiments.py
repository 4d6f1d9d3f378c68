"""Experiment assignment against HMAC vectors computed here with the stdlib (spec §4.9)."""

from __future__ import annotations

import hashlib
import hmac

from serving.experiments import Arm, Experiment, assign, assignment_subject, bucket_variant

SALT = "s3cret"
NOW = 1_700_000_000_000


def u64(message: str) -> int:
    return int.from_bytes(hmac.new(b"s3cret", message.encode(), hashlib.sha256).digest()[:8],
                          "big")


def test_vectors_pin_the_formula():
    # hand-computed once; the assertions below also recompute them independently
    assert u64("exp1:u1") % 2 == int(bucket_variant("exp1", "u1", SALT, ("A", "B")) == "B")
    for subject in ("u1", "u2", "u3", "u4", "alice", "bob"):
        expected = ("A", "B", "C")[u64(f"exp1:{subject}") % 3]
        assert bucket_variant("exp1", subject, SALT, ("A", "B", "C")) == expected


def test_fixed_vector():
    digest = hmac.new(b"s3cret", b"exp1:u1", hashlib.sha256).hexdigest()
    n = int(digest[:16], 16)
    assert bucket_variant("exp1", "u1", SALT, ("A", "B")) == ("A", "B")[n % 2]
    assert bucket_variant("exp1", "u1", SALT, tuple("ABCDEFG")) == "ABCDEFG"[n % 7]


def test_client_variant_is_kept_and_not_server_assigned():
    assert assign("exp1", "B", "u1", "home", NOW, SALT, {}) == Arm("exp1", "B", False)


def test_no_experiment_or_no_subject_or_no_salt_assigns_nothing():
    assert assign(None, None, "u1", "home", NOW, SALT, {}) is None
    assert assign("exp1", None, None, "home", NOW, SALT, {}) is None
    assert assign("exp1", None, "u1", "home", NOW, "", {}) is None


def test_subject_order_user_then_session_then_anonymous():
    assert assignment_subject("u", "s", "a") == "u"
    assert assignment_subject(None, "s", "a") == "s"
    assert assignment_subject(None, None, "a") == "a"


def test_lifecycle_surface_window_and_traffic():
    exp = Experiment("exp1", ("A", "B"), surface="Home", starts_at_ms=NOW, ends_at_ms=NOW + 10)
    arm = assign("exp1", None, "u1", "home", NOW, SALT, {"exp1": exp})
    assert arm == Arm("exp1", ("A", "B")[u64("exp1:u1") % 2], True)
    assert assign("exp1", None, "u1", "pdp", NOW, SALT, {"exp1": exp}) is None
    assert assign("exp1", None, "u1", "home", NOW + 10, SALT, {"exp1": exp}) is None
    assert assign("exp1", None, "u1", "home", NOW - 1, SALT, {"exp1": exp}) is None
    disabled = Experiment("exp1", enabled=False)
    assert assign("exp1", None, "u1", "home", NOW, SALT, {"exp1": disabled}) is None


def test_traffic_share_uses_the_traffic_hmac():
    subjects = [f"user-{n}" for n in range(200)]
    exp = Experiment("exp1", ("A", "B"), traffic_percent=25.0)
    for s in subjects:
        inside = u64(f"traffic:exp1:{s}") % 10000 < 2500
        arm = assign("exp1", None, s, "home", NOW, SALT, {"exp1": exp})
        assert (arm is not None) == inside
    share = sum(assign("exp1", None, s, "home", NOW, SALT, {"exp1": exp}) is not None
                for s in subjects)
    assert 30 <= share <= 70  # 25 % of 200 ± noise; exact membership is asserted above


def test_literal_vectors():
    # HMAC-SHA256("s3cret", msg)[:8] big-endian, computed once with hmac/hashlib:
    # "exp1:u1" → 0x2814dad4d1b0c96e (mod 2 = 0, mod 3 = 1)
    # "exp1:u2" → 0xb59119ba1f7e14ef (mod 2 = 1, mod 3 = 2)
    # "traffic:exp1:u1" → 0xf20f957164ed81d5 (mod 10000 = 293)
    assert u64("exp1:u1") == 0x2814DAD4D1B0C96E
    assert bucket_variant("exp1", "u1", SALT, ("A", "B")) == "A"
    assert bucket_variant("exp1", "u1", SALT, ("A", "B", "C")) == "B"
    assert bucket_variant("exp1", "u2", SALT, ("A", "B")) == "B"
    assert bucket_variant("exp1", "u2", SALT, ("A", "B", "C")) == "C"
    # 293 < 2.94 % · 100 = 294 → inside; 293 < 293 fails → outside
    inside = Experiment("exp1", traffic_percent=2.94)
    outside = Experiment("exp1", traffic_percent=2.93)
    assert assign("exp1", None, "u1", "home", NOW, SALT, {"exp1": inside}) == Arm("exp1", "A", True)
    assert assign("exp1", None, "u1", "home", NOW, SALT, {"exp1": outside}) is None
