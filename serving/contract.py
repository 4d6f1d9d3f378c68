"""The recommend request: strict decoding and normalisation (subset of spec §4.2).

Strict: unknown fields and trailing data are 400; semantic errors are 422;
defaults produce ``DEFAULT_APPLIED`` warnings. The full contract (anchors,
candidates, constraints, weights, options, experiment) grows in the serving issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.errors import ServingError

DEFAULT_K = 20
MAX_K = 200
DEFAULT_SEGMENT = "default"
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
TOP_FIELDS = frozenset({"surface", "segment", "k", "user"})
USER_FIELDS = frozenset({"user_id", "anonymous_id", "session_id"})


@dataclass(frozen=True, slots=True)
class Warning_:
    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class RecommendRequest:
    surface: str
    segment: str
    k: int
    user_id: str | None
    anonymous_id: str | None
    session_id: str | None
    warnings: tuple[Warning_, ...] = field(default=())


def _bad(detail: str) -> ServingError:
    return ServingError(detail, status=400, code="RECSYS_INVALID_REQUEST")


def _unprocessable(detail: str) -> ServingError:
    return ServingError(detail, status=422, code="RECSYS_UNPROCESSABLE_ENTITY")


def _reject_unknown(obj: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(f"unknown field {where}{unknown[0]!r}")


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{where}{key} must be a string")
    value = value.strip()
    return value or None


def parse_recommend(body: bytes) -> RecommendRequest:
    """Decode and normalise a recommend body, or raise ``ServingError`` (400/422)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"malformed JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _bad("request body must be a JSON object")
    _reject_unknown(doc, TOP_FIELDS, "")
    warnings: list[Warning_] = []

    surface = doc.get("surface")
    if not isinstance(surface, str) or not surface.strip():
        raise _unprocessable("surface is required (a non-empty string)")
    surface = surface.strip()
    if not SAFE_SEGMENT.match(surface):
        raise _unprocessable("surface must be a safe path segment ([A-Za-z0-9._~-], ≤128)")

    segment = _opt_str(doc, "segment", "")
    if segment is None:
        segment = DEFAULT_SEGMENT
        warnings.append(Warning_("DEFAULT_APPLIED", "segment defaulted to 'default'"))

    raw_k = doc.get("k")
    if raw_k is None:
        k = DEFAULT_K
        warnings.append(Warning_("DEFAULT_APPLIED", f"k defaulted to {DEFAULT_K}"))
    elif isinstance(raw_k, bool) or not isinstance(raw_k, int):
        raise _bad("k must be an integer")
    elif not 1 <= raw_k <= MAX_K:
        raise _unprocessable(f"k must be between 1 and {MAX_K}")
    else:
        k = raw_k

    user = doc.get("user")
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise _bad("user must be an object")
    _reject_unknown(user, USER_FIELDS, "user.")
    ids = {f: _opt_str(user, f, "user.") for f in ("user_id", "anonymous_id", "session_id")}
    if not any(ids.values()):
        raise _unprocessable("user needs at least one of user_id, anonymous_id, session_id")
    return RecommendRequest(
        surface=surface,
        segment=segment,
        k=k,
        user_id=ids["user_id"],
        anonymous_id=ids["anonymous_id"],
        session_id=ids["session_id"],
        warnings=tuple(warnings),
    )
