"""The tenant config document (spec §4.6): weights, flags, limits, algo mode.

``{"weights": {pop, cooc, emb}, "flags": {name: bool}, "limits": {max_k,
max_exclude_ids}, "algo"?}``. Unknown fields are rejected; weights and limits must be
non-negative. Unlike the original, whose limits were validated but never enforced,
``enforce_limits`` rejects a request beyond them with a 422.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.errors import ServingError
from serving import fields as f
from serving.engine.weights import Weights, normalize_mode
from serving.request import RecommendRequest

TOP = frozenset({"weights", "flags", "limits", "algo"})
LIMITS = frozenset({"max_k", "max_exclude_ids"})
WEIGHTS = frozenset({"pop", "cooc", "emb"})


def content_etag(document: Any) -> str:
    """sha256 hex of the canonical JSON text (sorted keys, no whitespace)."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _invalid(detail: str) -> ServingError:
    return ServingError(detail, status=422, code="RECSYS_INVALID_CONFIG")


@dataclass(frozen=True, slots=True)
class TenantConfig:
    weights: Weights | None = None
    flags: tuple[tuple[str, bool], ...] = ()
    max_k: int | None = None
    max_exclude_ids: int | None = None
    algo: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def mode(self) -> str:
        return normalize_mode(self.algo)


def parse_config(doc: Any) -> TenantConfig:
    """Validate a config document; 422 ``RECSYS_INVALID_CONFIG`` names what is wrong."""
    if not isinstance(doc, dict):
        raise _invalid("config must be a JSON object")
    unknown = sorted(set(doc) - TOP)
    if unknown:
        raise _invalid(f"unknown config field {unknown[0]!r}")
    try:
        weights_doc = f.obj(doc, "weights", "", WEIGHTS)
        limits = f.obj(doc, "limits", "", LIMITS)
        values = {n: f.opt_number(weights_doc, n, "weights.") for n in ("pop", "cooc", "emb")}
        max_k = f.opt_int(limits, "max_k", "limits.")
        max_ex = f.opt_int(limits, "max_exclude_ids", "limits.")
        algo = f.opt_str(doc, "algo", "", 64)
    except ServingError as exc:
        raise _invalid(str(exc)) from exc
    if any(v is not None and v < 0 for v in values.values()):
        raise _invalid("weights must be non-negative")
    if any(v is not None and v < 0 for v in (max_k, max_ex)):
        raise _invalid("limits must be non-negative")
    flags_doc = doc.get("flags") or {}
    if not isinstance(flags_doc, dict) or not all(isinstance(v, bool) for v in flags_doc.values()):
        raise _invalid("flags must be an object of name → boolean")
    weights = None
    if weights_doc:
        weights = Weights(values["pop"] or 0.0, values["cooc"] or 0.0, values["emb"] or 0.0)
    return TenantConfig(weights, tuple(sorted(flags_doc.items())), max_k, max_ex, algo, doc)


def enforce_limits(config: TenantConfig, req: RecommendRequest) -> None:
    """422 when the request goes beyond the tenant's ``limits``."""
    if config.max_k is not None and req.k > config.max_k:
        raise ServingError(f"k={req.k} exceeds the tenant limit max_k={config.max_k}",
                           status=422, code="RECSYS_LIMIT_EXCEEDED")
    if config.max_exclude_ids is not None and len(req.exclude_ids) > config.max_exclude_ids:
        raise ServingError(
            f"{len(req.exclude_ids)} exclude_ids exceed the tenant limit "
            f"max_exclude_ids={config.max_exclude_ids}",
            status=422, code="RECSYS_LIMIT_EXCEEDED")
