"""The recommend request contract (spec §4.2): strict decoding, limits, defaults.

Unknown fields and trailing data are 400; semantic errors are 422; every default
that the caller did not choose is reported as a ``DEFAULT_APPLIED`` warning. The
result is a frozen, normalised ``RecommendRequest`` (ids trimmed and deduplicated,
tags and ``max_per_tag`` keys lowercased, ``context.now`` in UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.errors import ContractError
from schemas.timestamps import rfc3339_to_ms
from serving import fields as f
from serving.engine.warnings import ServingWarning

DEFAULT_K, MAX_K = 20, 200
DEFAULT_SEGMENT = "default"
DEFAULT_MAX_ANCHORS = MAX_ANCHOR_IDS = 50
MAX_ID_LIST = 5000
MAX_TAGS = 200
MAX_WEIGHT = 1e6
EXPLAIN_LEVELS = ("none", "summary", "full")
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")

TOP = frozenset(
    {"surface", "segment", "k", "user", "context", "anchors", "candidates", "constraints",
     "weights", "options", "experiment"}
)
USER = frozenset({"user_id", "anonymous_id", "session_id"})
CONTEXT = frozenset({"locale", "device", "country", "now"})
ANCHORS = frozenset({"item_ids", "max_anchors"})
CANDIDATES = frozenset({"include_ids", "exclude_ids"})
CONSTRAINTS = frozenset({"required_tags", "forbidden_tags", "max_per_tag"})
WEIGHTS = frozenset({"pop", "cooc", "emb"})
OPTIONS = frozenset({"include_reasons", "explain", "include_trace", "seed"})
EXPERIMENT = frozenset({"id", "variant"})

# the defaulting warnings never vary: built once, not per request
SEGMENT_DEFAULTED = ServingWarning("DEFAULT_APPLIED", f"segment defaulted to '{DEFAULT_SEGMENT}'")
K_DEFAULTED = ServingWarning("DEFAULT_APPLIED", f"k defaulted to {DEFAULT_K}")
MAX_ANCHORS_DEFAULTED = ServingWarning(
    "DEFAULT_APPLIED", f"anchors.max_anchors defaulted to {DEFAULT_MAX_ANCHORS}")
OPTIONS_DEFAULTED = ServingWarning("DEFAULT_APPLIED", "options defaulted")


@dataclass(frozen=True, slots=True)
class UserRef:
    user_id: str | None = None
    anonymous_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestContext:
    locale: str | None = None
    device: str | None = None
    country: str | None = None
    now: str | None = None  # RFC 3339, normalised to UTC
    now_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RequestWeights:
    pop: float | None = None
    cooc: float | None = None
    emb: float | None = None


@dataclass(frozen=True, slots=True)
class RecommendRequest:
    surface: str
    segment: str
    k: int
    user: UserRef
    context: RequestContext = RequestContext()
    anchors: tuple[str, ...] = ()
    max_anchors: int = DEFAULT_MAX_ANCHORS
    include_ids: tuple[str, ...] = ()
    exclude_ids: tuple[str, ...] = ()
    required_tags: tuple[str, ...] = ()
    forbidden_tags: tuple[str, ...] = ()
    max_per_tag: tuple[tuple[str, int], ...] = ()
    weights: RequestWeights | None = None
    include_reasons: bool = False
    explain: str = "none"
    include_trace: bool = False
    seed: int | None = None
    experiment_id: str | None = None
    experiment_variant: str | None = None
    warnings: tuple[ServingWarning, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The normalised request, as ``/v1/recommend/validate`` returns it."""
        doc: dict[str, Any] = {
            "surface": self.surface,
            "segment": self.segment,
            "k": self.k,
            "user": _some(user_id=self.user.user_id, anonymous_id=self.user.anonymous_id,
                          session_id=self.user.session_id),
            "context": _some(locale=self.context.locale, device=self.context.device,
                             country=self.context.country, now=self.context.now),
            "anchors": {"item_ids": list(self.anchors), "max_anchors": self.max_anchors},
            "candidates": {"include_ids": list(self.include_ids),
                           "exclude_ids": list(self.exclude_ids)},
            "constraints": {"required_tags": list(self.required_tags),
                            "forbidden_tags": list(self.forbidden_tags),
                            "max_per_tag": dict(self.max_per_tag)},
            "options": _some(include_reasons=self.include_reasons, explain=self.explain,
                             include_trace=self.include_trace, seed=self.seed),
        }
        if self.weights is not None:
            doc["weights"] = _some(pop=self.weights.pop, cooc=self.weights.cooc,
                                   emb=self.weights.emb)
        if self.experiment_id or self.experiment_variant:
            doc["experiment"] = _some(id=self.experiment_id, variant=self.experiment_variant)
        return doc


def _some(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def parse_surface(doc: dict[str, Any]) -> str:
    surface = doc.get("surface")
    if surface is None or surface == "":
        raise f.unprocessable("surface is required (a non-empty string)")
    if not isinstance(surface, str):
        raise f.bad("surface must be a string")
    if not SAFE_SEGMENT.match(surface):
        raise f.unprocessable("surface must be a safe path segment ([A-Za-z0-9._~-], ≤128)")
    return surface


def parse_segment(doc: dict[str, Any], warnings: list[ServingWarning]) -> str:
    segment = f.opt_str(doc, "segment", "", max_len=128)
    if segment is None:
        warnings.append(SEGMENT_DEFAULTED)
        return DEFAULT_SEGMENT
    return segment


def parse_k(doc: dict[str, Any], warnings: list[ServingWarning]) -> int:
    k = f.opt_int(doc, "k", "")
    if k is None:
        warnings.append(K_DEFAULTED)
        return DEFAULT_K
    if not 1 <= k <= MAX_K:
        raise f.unprocessable(f"k must be between 1 and {MAX_K}")
    return k


def parse_max_per_tag(constraints: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    raw = constraints.get("max_per_tag")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise f.bad("constraints.max_per_tag must be an object of tag → integer")
    if len(raw) > MAX_TAGS:
        raise f.unprocessable(f"constraints.max_per_tag has more than {MAX_TAGS} tags")
    out: dict[str, int] = {}
    for tag, limit in raw.items():
        key = f.trim(tag).lower()
        if not key:
            raise f.unprocessable("constraints.max_per_tag keys must be non-empty tags")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise f.bad(f"constraints.max_per_tag[{tag!r}] must be an integer")
        if not 0 <= limit <= f.INT64_MAX:
            raise f.unprocessable(f"constraints.max_per_tag[{tag!r}] must be between 0 and "
                                  "2^63-1")
        out[key] = min(limit, out.get(key, limit))
    return tuple(sorted(out.items()))


def parse_weights(doc: dict[str, Any]) -> RequestWeights | None:
    if doc.get("weights") is None:
        return None
    raw = f.obj(doc, "weights", "", WEIGHTS)
    values = {name: f.opt_number(raw, name, "weights.") for name in ("pop", "cooc", "emb")}
    for name, value in values.items():
        if value is not None and not 0 <= value <= MAX_WEIGHT:
            raise f.unprocessable(f"weights.{name} must be between 0 and {MAX_WEIGHT:g}")
    return RequestWeights(**values)


def utc_rfc3339(epoch_ms: int) -> str:
    """RFC 3339 in UTC with milliseconds and a 4-digit year (also before year 1000)."""
    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:"
            f"{t.second:02d}.{t.microsecond // 1000:03d}Z")


NO_CONTEXT = RequestContext()


def parse_context(doc: dict[str, Any]) -> RequestContext:
    raw = _section(doc, "context", CONTEXT)
    if raw is None:
        return NO_CONTEXT
    now = f.opt_str(raw, "now", "context.")
    now_ms = None
    if now is not None:
        try:
            now_ms = rfc3339_to_ms(now)
        except ContractError as exc:
            raise f.unprocessable("context.now must be an RFC 3339 date-time") from exc
        now = utc_rfc3339(now_ms)
    return RequestContext(
        locale=f.opt_str(raw, "locale", "context.", 64),
        device=f.opt_str(raw, "device", "context.", 64),
        country=f.opt_str(raw, "country", "context.", 64),
        now=now,
        now_ms=now_ms,
    )


DEFAULT_OPTIONS: dict[str, Any] = {
    "include_reasons": False, "explain": "none", "include_trace": False, "seed": None}


def parse_options(doc: dict[str, Any], warnings: list[ServingWarning]) -> dict[str, Any]:
    raw = _section(doc, "options", OPTIONS)
    if raw is None:
        warnings.append(OPTIONS_DEFAULTED)
        return DEFAULT_OPTIONS
    explain = f.opt_str(raw, "explain", "options.") or "none"
    if explain not in EXPLAIN_LEVELS:
        raise f.unprocessable(f"options.explain must be one of {', '.join(EXPLAIN_LEVELS)}")
    seed = f.opt_int(raw, "seed", "options.")
    if seed is not None and not f.INT64_MIN <= seed <= f.INT64_MAX:
        raise f.unprocessable("options.seed must fit in a signed 64-bit integer")
    return {
        "include_reasons": f.opt_bool(raw, "include_reasons", "options.", False),
        "explain": explain,
        "include_trace": f.opt_bool(raw, "include_trace", "options.", False),
        "seed": seed,
    }


def _section(doc: dict[str, Any], key: str, allowed: frozenset[str]) -> dict[str, Any] | None:
    """A nested object, or None when absent or null (``fields.obj`` raises the errors)."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not allowed.issuperset(value):
        return f.obj(doc, key, "", allowed)  # raises: not an object, or an unknown field
    return value


_EMPTY: dict[str, Any] = {}


def parse_recommend(body: bytes) -> RecommendRequest:
    """Decode and normalise a recommend body, or raise ``ServingError`` (400/422).

    Checks run in a fixed order, so a body with several errors always gets the same one;
    an absent section costs nothing beyond its defaults.
    """
    doc = f.load_object(body)
    if not TOP.issuperset(doc):
        f.reject_unknown(doc, TOP, "")
    warnings: list[ServingWarning] = []
    surface = parse_surface(doc)
    segment = parse_segment(doc, warnings)
    k = parse_k(doc, warnings)

    user = _section(doc, "user", USER) or _EMPTY
    ref = UserRef(f.opt_str(user, "user_id", "user."), f.opt_str(user, "anonymous_id", "user."),
                  f.opt_str(user, "session_id", "user."))
    if not (ref.user_id or ref.anonymous_id or ref.session_id):
        raise f.unprocessable("user needs at least one of user_id, anonymous_id, session_id")
    context = parse_context(doc)

    anchors = _section(doc, "anchors", ANCHORS) or _EMPTY
    anchor_ids = f.str_list(anchors, "item_ids", "anchors.", MAX_ANCHOR_IDS)
    max_anchors = f.opt_int(anchors, "max_anchors", "anchors.")
    if max_anchors is None:
        max_anchors = DEFAULT_MAX_ANCHORS
        if "anchors" in doc:
            warnings.append(MAX_ANCHORS_DEFAULTED)
    elif not 0 < max_anchors <= MAX_ANCHOR_IDS:
        raise f.unprocessable(f"anchors.max_anchors must be between 1 and {MAX_ANCHOR_IDS}")
    elif max_anchors < len(anchor_ids):
        raise f.unprocessable(
            f"anchors.max_anchors ({max_anchors}) is less than the {len(anchor_ids)} item_ids")

    candidates = _section(doc, "candidates", CANDIDATES)
    constraints = _section(doc, "constraints", CONSTRAINTS)
    options = parse_options(doc, warnings)
    experiment = _section(doc, "experiment", EXPERIMENT)
    if candidates is None and constraints is None and experiment is None \
            and doc.get("weights") is None:
        # the common body: nothing more to read
        return RecommendRequest(surface, segment, k, ref, context, anchor_ids, max_anchors,
                                warnings=tuple(warnings), **options)
    candidates = candidates or _EMPTY
    constraints = constraints or _EMPTY
    experiment = experiment or _EMPTY
    return RecommendRequest(
        surface=surface,
        segment=segment,
        k=k,
        user=ref,
        context=context,
        anchors=anchor_ids,
        max_anchors=max_anchors,
        include_ids=f.str_list(candidates, "include_ids", "candidates.", MAX_ID_LIST),
        exclude_ids=f.str_list(candidates, "exclude_ids", "candidates.", MAX_ID_LIST),
        required_tags=f.str_list(constraints, "required_tags", "constraints.", MAX_TAGS,
                                 lower=True),
        forbidden_tags=f.str_list(constraints, "forbidden_tags", "constraints.", MAX_TAGS,
                                  lower=True),
        max_per_tag=parse_max_per_tag(constraints),
        weights=parse_weights(doc),
        experiment_id=f.opt_str(experiment, "id", "experiment.", 128),
        experiment_variant=f.opt_str(experiment, "variant", "experiment.", 128),
        warnings=tuple(warnings),
        **options,
    )
