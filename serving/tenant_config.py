"""The tenant config document (spec §4.6): weights, flags, limits, algo mode, experiments.

``{"weights": {pop, cooc, emb}, "flags": {name: bool}, "limits": {max_k,
max_exclude_ids}, "algo"?, "experiments"?}``. Unknown fields are rejected; weights and
limits must be non-negative. Unlike the original, whose limits were validated but never
enforced, ``enforce_limits`` rejects a request beyond them with a 422.

``experiments`` (ours; the original only had ``EXPERIMENT_CONFIG_JSON`` at startup)::

    {"<id>": {"status": "draft"|"running"|"paused"|"ended",
              "surfaces": ["home"]?, "traffic": 1.0?, "starts_at"?, "ends_at"?,
              "variants": {"A": {"share": 0.5, "weights": {...}?, "algo": "..."?},
                           "B": {"share": 0.5, ...}}}}

Only ``running`` assigns (spec §4.9's ``enabled``); ``surfaces`` match
case-insensitively (absent or empty = every surface); ``traffic`` is the share of
subjects in the experiment (spec's ``traffic_percent``/100); ``starts_at ≤ now <
ends_at``. Every variant needs a ``share`` in (0, 1], the shares sum to 1 (±1e-6), and
at least two variants. A variant's ``weights`` replace the tenant weights as a whole
(omitted fields are 0, as at the top level) and its ``algo`` (one of the modes, checked
strictly) replaces the tenant ``algo``. Variants are kept in name order, so the
assignment does not depend on the document's key order.

Flags: ``catalog_fallback`` (default true) tops a candidate pool smaller than k up with
the tenant's newest catalog items (``serving.engine.catalog_fill``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from schemas.errors import ContractError, ServingError
from schemas.timestamps import rfc3339_to_ms
from serving import fields as f
from serving.engine.warnings import ServingWarning
from serving.engine.weights import MODES, Weights, normalize_mode
from serving.experiments import STATUSES, Experiment
from serving.request import K_DEFAULTED, SAFE_SEGMENT, RecommendRequest

TOP = frozenset({"weights", "flags", "limits", "algo", "experiments"})
LIMITS = frozenset({"max_k", "max_exclude_ids"})
WEIGHTS = frozenset({"pop", "cooc", "emb"})
EXPERIMENT = frozenset({"status", "surfaces", "traffic", "starts_at", "ends_at", "variants"})
VARIANT = frozenset({"share", "weights", "algo"})
MAX_EXPERIMENTS = 100
MAX_VARIANTS = 20
MAX_SURFACES = 100
MAX_NAME = 128  # experiment ids and variant names, as in the request's ``experiment``
SHARE_TOLERANCE = 1e-6
CATALOG_FALLBACK = "catalog_fallback"


def content_etag(document: Any) -> str:
    """sha256 hex of the canonical JSON text (sorted keys, no whitespace)."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _invalid(detail: str) -> ServingError:
    return ServingError(detail, status=422, code="RECSYS_INVALID_CONFIG")


@dataclass(frozen=True, slots=True)
class VariantOverride:
    """What a variant changes in the ranking; None keeps the tenant's value."""

    weights: Weights | None = None
    algo: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigExperiment:
    """A tenant-config experiment: its lifecycle definition and per-variant overrides."""

    definition: Experiment
    status: str
    overrides: tuple[tuple[str, VariantOverride], ...] = ()

    def override(self, variant: str) -> VariantOverride | None:
        for name, found in self.overrides:
            if name == variant:
                return found
        return None


@dataclass(frozen=True, slots=True)
class TenantConfig:
    weights: Weights | None = None
    flags: tuple[tuple[str, bool], ...] = ()
    max_k: int | None = None
    max_exclude_ids: int | None = None
    algo: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    experiments: Mapping[str, ConfigExperiment] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return normalize_mode(self.algo)

    def flag(self, name: str, default: bool) -> bool:
        for key, value in self.flags:
            if key == name:
                return value
        return default


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
    experiments = _experiments(doc.get("experiments"))
    return TenantConfig(weights, tuple(sorted(flags_doc.items())), max_k, max_ex, algo, doc,
                        experiments)


def _weights(doc: Mapping[str, Any], where: str) -> Weights | None:
    """A ``weights`` object (absent or null → None); each value finite and ≥ 0."""
    weights_doc = f.obj(doc, "weights", where, WEIGHTS)
    if not weights_doc:
        return None
    values = {n: f.opt_number(weights_doc, n, f"{where}weights.") for n in ("pop", "cooc", "emb")}
    if any(v is not None and v < 0 for v in values.values()):
        raise _invalid(f"{where}weights must be non-negative")
    return Weights(values["pop"] or 0.0, values["cooc"] or 0.0, values["emb"] or 0.0)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME \
            or value != f.trim(value):
        raise _invalid(f"{what} {value!r} must be a non-blank string of at most {MAX_NAME} "
                       "characters without surrounding whitespace")
    return value


def _timestamp(doc: Mapping[str, Any], key: str, where: str) -> int | None:
    value = f.opt_str(doc, key, where, 64)
    if value is None:
        return None
    try:
        return rfc3339_to_ms(value)
    except ContractError as exc:
        raise _invalid(f"{where}{key}: {exc}") from exc


def _experiments(doc: Any) -> dict[str, ConfigExperiment]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise _invalid("experiments must be an object of experiment id → experiment")
    if len(doc) > MAX_EXPERIMENTS:
        raise _invalid(f"experiments has {len(doc)} entries; at most {MAX_EXPERIMENTS}")
    try:
        return {_name(eid, "experiment id"): _experiment(eid, spec)
                for eid, spec in doc.items()}
    except ServingError as exc:
        if exc.code == "RECSYS_INVALID_CONFIG":
            raise
        raise _invalid(str(exc)) from exc


def _experiment(eid: str, doc: Any) -> ConfigExperiment:
    where = f"experiments.{eid}."
    if not isinstance(doc, dict):
        raise _invalid(f"experiments.{eid} must be an object")
    unknown = sorted(set(doc) - EXPERIMENT)
    if unknown:
        raise _invalid(f"unknown field {where}{unknown[0]}; known: {', '.join(sorted(EXPERIMENT))}")
    status = doc.get("status")
    if status not in STATUSES:
        raise _invalid(f"{where}status must be one of {', '.join(STATUSES)}; got {status!r}")
    surfaces = f.str_list(doc, "surfaces", where, MAX_SURFACES)
    bad = [s for s in surfaces if not SAFE_SEGMENT.match(s)]
    if bad:
        raise _invalid(f"{where}surfaces: {bad[0]!r} is not a safe path segment")
    traffic = f.opt_number(doc, "traffic", where)
    if traffic is not None and not 0.0 <= traffic <= 1.0:
        raise _invalid(f"{where}traffic must be between 0 and 1; got {traffic:g}")
    starts, ends = _timestamp(doc, "starts_at", where), _timestamp(doc, "ends_at", where)
    if starts is not None and ends is not None and ends <= starts:
        raise _invalid(f"{where}ends_at must be after starts_at")
    variants = doc.get("variants")
    if not isinstance(variants, dict) or not 2 <= len(variants) <= MAX_VARIANTS:
        raise _invalid(f"{where}variants must be an object with 2 to {MAX_VARIANTS} variants")
    shares: list[float] = []
    overrides: list[tuple[str, VariantOverride]] = []
    for name in sorted(variants):
        share, override = _variant(_name(name, f"{where}variants key"), variants[name], where)
        shares.append(share)
        overrides.append((name, override))
    total = math.fsum(shares)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise _invalid(f"{where}variants: shares sum to {total:.6g}, not 1")
    definition = Experiment(
        eid, tuple(n for n, _ in overrides), enabled=status == "running",
        traffic_percent=100.0 if traffic is None else traffic * 100.0,
        starts_at_ms=starts, ends_at_ms=ends,
        surfaces=tuple(dict.fromkeys(s.lower() for s in surfaces)), shares=tuple(shares))
    return ConfigExperiment(definition, status, tuple(overrides))


def _variant(name: str, doc: Any, where: str) -> tuple[float, VariantOverride]:
    where = f"{where}variants.{name}."
    if not isinstance(doc, dict):
        raise _invalid(f"{where[:-1]} must be an object")
    unknown = sorted(set(doc) - VARIANT)
    if unknown:
        raise _invalid(f"unknown field {where}{unknown[0]}; known: {', '.join(sorted(VARIANT))}")
    share = f.opt_number(doc, "share", where)
    if share is None or not 0.0 < share <= 1.0:
        raise _invalid(f"{where}share is required, in (0, 1]")
    algo = f.opt_str(doc, "algo", where, 64)
    if algo is not None and algo.lower() not in MODES:
        raise _invalid(f"{where}algo must be one of {', '.join(MODES)}; got {algo!r}")
    return share, VariantOverride(_weights(doc, where), algo.lower() if algo else None)


def check_writable(config: TenantConfig) -> None:
    """What a config must also satisfy to be written (documents already stored load as
    the original would read them): a known ``algo`` (a typo would silently rank as
    blend) and ``limits.max_k`` ≥ 1 (0 would refuse every request)."""
    if config.algo is not None and config.algo.strip().lower() not in MODES:
        raise _invalid(f"algo must be one of {', '.join(MODES)}; got {config.algo!r}")
    if config.max_k is not None and config.max_k < 1:
        raise _invalid(f"limits.max_k must be at least 1; got {config.max_k}")


def limit_k(config: TenantConfig, k: int,
            warnings: tuple[ServingWarning, ...]) -> tuple[int, tuple[ServingWarning, ...]]:
    """k within the tenant's ``max_k``: a k the client left out comes down to it (its
    DEFAULT_APPLIED warning says so); a k the client asked beyond it is a 422."""
    if config.max_k is None or k <= config.max_k:
        return k, warnings
    if K_DEFAULTED not in warnings:
        raise ServingError(f"k={k} exceeds the tenant limit max_k={config.max_k}",
                           status=422, code="RECSYS_LIMIT_EXCEEDED")
    capped = ServingWarning("DEFAULT_APPLIED",
                            f"k defaulted to {config.max_k} (the tenant's max_k)")
    return config.max_k, tuple(capped if w == K_DEFAULTED else w for w in warnings)


def enforce_limits(config: TenantConfig, req: RecommendRequest) -> RecommendRequest:
    """The request within the tenant's ``limits`` (``limit_k``; too many exclude_ids is a
    422)."""
    k, warnings = limit_k(config, req.k, req.warnings)
    if config.max_exclude_ids is not None and len(req.exclude_ids) > config.max_exclude_ids:
        raise ServingError(
            f"{len(req.exclude_ids)} exclude_ids exceed the tenant limit "
            f"max_exclude_ids={config.max_exclude_ids}",
            status=422, code="RECSYS_LIMIT_EXCEEDED")
    return req if k == req.k else replace(req, k=k, warnings=warnings)
