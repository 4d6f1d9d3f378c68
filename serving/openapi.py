"""The OpenAPI 3.1 document of the serving API, served at ``/openapi.json``.

Built from the same constants the parsers use (limits, enums), so the document and the
code cannot drift on them; a test checks that every route is documented and back.
"""

from __future__ import annotations

from typing import Any

from serving.engine.weights import MODES
from serving.experiments import STATUSES
from serving.live_http import ASSETS
from serving.request import (
    EXPLAIN_LEVELS,
    MAX_ANCHOR_IDS,
    MAX_ID_LIST,
    MAX_K,
    MAX_TAGS,
    MAX_WEIGHT,
)
from serving.tenant_config import MAX_EXPERIMENTS, MAX_NAME, MAX_SURFACES, MAX_VARIANTS

J = "application/json"
INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
WEIGHT = {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT}
COUNT = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
IDS = {"type": "array", "items": {"type": "string"}}
TEXT = {"type": "string", "pattern": "\\S"}  # trimmed before use: blank counts as absent


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A closed object; optional properties may be null (null counts as absent)."""
    optional = {k: v if k in (required or ()) else _nullable(v) for k, v in props.items()}
    schema: dict[str, Any] = {"type": "object", "properties": optional,
                              "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _ids(limit: int) -> dict[str, Any]:
    return {**IDS, "maxItems": limit}


TAGS = _ids(MAX_TAGS)
SAFE = {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,128}$"}
USER = {**_obj({"user_id": _text(256), "anonymous_id": _text(256),
                "session_id": _text(256)}),
        "anyOf": [{"required": [n], "properties": {n: {**TEXT, "maxLength": 256}}}
                  for n in ("user_id", "anonymous_id", "session_id")]}
RECOMMEND = _obj({
    "surface": SAFE,
    "segment": _text(128),
    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K},
    "user": USER,
    "context": _obj({"locale": _text(64), "device": _text(64), "country": _text(64),
                     "now": {"type": "string", "format": "date-time"}}),
    "anchors": _obj({"item_ids": _ids(MAX_ANCHOR_IDS),
                     "max_anchors": {"type": "integer", "minimum": 1,
                                     "maximum": MAX_ANCHOR_IDS}}),
    "candidates": _obj({"include_ids": _ids(MAX_ID_LIST), "exclude_ids": _ids(MAX_ID_LIST)}),
    "constraints": _obj({"required_tags": TAGS, "forbidden_tags": TAGS,
                         "max_per_tag": {"type": "object", "maxProperties": MAX_TAGS,
                                         "propertyNames": TEXT,
                                         "additionalProperties": COUNT}}),
    "weights": _obj({n: WEIGHT for n in ("pop", "cooc", "emb")}),
    "options": _obj({"include_reasons": {"type": "boolean"},
                     "explain": {"enum": list(EXPLAIN_LEVELS)},
                     "include_trace": {"type": "boolean"},
                     "seed": INT64}),
    "experiment": _obj({"id": _text(128), "variant": _text(128)}),
}, ["surface", "user"])
RECOMMEND["description"] = (
    "Two rules JSON Schema cannot state: anchors.max_anchors must be ≥ the number of "
    "distinct item_ids (else 422), and options.explain other than none needs k ≤ 50 "
    "(else 422 RECSYS_EXPLAIN_TOO_LARGE).")
SIMILAR = _obj({
    "surface": SAFE, "segment": _text(128), "item_id": {**TEXT, "maxLength": 256},
    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K},
    "constraints": _obj({"required_tags": TAGS, "forbidden_tags": TAGS}),
    "options": _obj({"include_reasons": {"type": "boolean"}}),
}, ["surface", "item_id"])
WARNING = {"type": "object", "required": ["code", "detail"],
           "properties": {"code": {"type": "string"}, "detail": {"type": "string"}}}
ITEM = {"type": "object", "required": ["item_id", "rank", "score"], "properties": {
    "item_id": {"type": "string"}, "rank": {"type": "integer", "minimum": 1},
    "score": {"type": "number"}, "reasons": IDS, "explain": {"type": "object"}}}
RANKED = {"type": "object", "required": ["items", "meta", "warnings"], "properties": {
    "items": {"type": "array", "items": ITEM}, "meta": {"type": "object"},
    "warnings": {"type": "array", "items": WARNING}}}
PROBLEM = {"type": "object", "required": ["type", "title", "status", "code", "request_id"],
           "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                          "status": {"type": "integer"}, "detail": {"type": "string"},
                          "instance": {"type": "string"}, "code": {"type": "string"},
                          "request_id": {"type": "string"}}}


def _op(summary: str, ok: dict[str, Any], body: dict[str, Any] | None = None,
        secured: bool = True, ok_status: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            ok_status: {"description": "OK", "content": {J: {"schema": ok}}},
            "default": {"description": "problem",
                        "content": {"application/problem+json": {"schema": PROBLEM}}},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {J: {"schema": body}}}
    if secured:
        op["parameters"] = [{"name": "X-Org-Id", "in": "header", "required": False,
                             "schema": SAFE}]
        op["security"] = [{"apiKey": []}]
    return op


TENANT_PARAM = {"name": "tenant_id", "in": "path", "required": True, "schema": SAFE}
NUM = {"type": "number", "minimum": 0}
CONFIG_WEIGHTS = _obj({"pop": NUM, "cooc": NUM, "emb": NUM})
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": "^\\S(.*\\S)?$"}
VARIANT = _obj({
    "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "weights": CONFIG_WEIGHTS,
    "algo": {"enum": list(MODES)},
}, ["share"])
EXPERIMENT = _obj({
    "status": {"enum": list(STATUSES)},
    "surfaces": {"type": "array", "maxItems": MAX_SURFACES, "items": SAFE},
    "traffic": {"type": "number", "minimum": 0, "maximum": 1},
    "starts_at": {"type": "string", "format": "date-time"},
    "ends_at": {"type": "string", "format": "date-time"},
    "variants": {"type": "object", "minProperties": 2, "maxProperties": MAX_VARIANTS,
                 "propertyNames": NAME, "additionalProperties": VARIANT},
}, ["status", "variants"])
EXPERIMENT["description"] = (
    "Only status running assigns. Rules JSON Schema cannot state: the variants' shares "
    "sum to 1 (±1e-6) and ends_at is after starts_at (else 422 RECSYS_INVALID_CONFIG).")
CONFIG = _obj({
    "weights": CONFIG_WEIGHTS,
    "flags": {"type": "object", "additionalProperties": {"type": "boolean"},
              "description": "catalog_fallback (default true): top a candidate pool "
                             "smaller than k up with the tenant's newest catalog items"},
    "limits": _obj({"max_k": COUNT, "max_exclude_ids": COUNT}),
    "algo": _text(64),
    "experiments": {"type": "object", "maxProperties": MAX_EXPERIMENTS,
                    "propertyNames": NAME, "additionalProperties": EXPERIMENT},
})
_RULE_COMMON: dict[str, Any] = {
    "rule_id": _text(128),
    "action": {"enum": ["block", "blocklist", "ban", "exclude", "suppress", "pin", "pinned",
                        "force", "boost", "promote", "increase"]},
    "surface": _text(128), "segment": _text(128), "priority": INT64,
    "enabled": {"type": "boolean"}, "boost_value": {"type": "number"},
    "max_pins": INT64,
    "valid_from": {"type": "string", "format": "date-time"},
    "valid_until": {"type": "string", "format": "date-time"},
}
RULE = {"oneOf": [
    _obj({**_RULE_COMMON, "target_type": {"enum": ["item", "items", "product"]},
          "item_ids": {"type": "array", "minItems": 1, "items": TEXT}},
         ["action", "target_type", "item_ids"]),
    _obj({**_RULE_COMMON, "target_type": {"enum": ["tag", "label", "brand", "category", "cat"]},
          "target_key": TEXT}, ["action", "target_type", "target_key"]),
]}
RULES = {"description": "An array of rules; the parser also accepts an object wrapping one "
                        "under rules/items/data, a single rule, and the aliases of spec §4.6.",
         "type": "array", "items": RULE}


def _admin(ops: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": [TENANT_PARAM], **ops}


def _with_params(op: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    return {**op, "parameters": [*op.get("parameters", ()), *params]}


ETAG_HEADER = {"ETag": {"description": "the version (content hash), quoted",
                        "schema": {"type": "string"}}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "description": "the ETag (or a list of ETags, or *) the write expects to "
                           "replace; 409 RECSYS_VERSION_MISMATCH when the current version "
                           "is another", "schema": {"type": "string"}}


def _versioned(op: dict[str, Any], write: bool) -> dict[str, Any]:
    """A config or rules operation: the 200 carries the ETag; a write takes If-Match."""
    ok = {**op["responses"]["200"], "headers": ETAG_HEADER}
    op = {**op, "responses": {**op["responses"], "200": ok}}
    return _with_params(op, IF_MATCH) if write else op


NS = {"exposures": COUNT, "outcomes": COUNT, "exposure_join_rate": NUM,
      "outcome_join_rate": NUM, "orphans": COUNT, "duplicates": COUNT,
      "empty_list_rate": NUM, "error_rate": NUM, "latency_p95_ms": NUM}
LIVE_OVERVIEW = {"type": "object", "required": ["as_of_ms", "totals", "namespaces"],
                 "properties": {
                     "as_of_ms": {"type": "integer"},
                     "totals": {"type": "object", "properties": NS},
                     "namespaces": {"type": "array", "items": {"type": "object", "properties": {
                         **NS, "tenant": {"type": "string"}, "surface": {"type": "string"}}}},
                     "dead_letters": COUNT, "lag_records": COUNT, "experiments": IDS}}
LIVE_EXPERIMENT = {"type": "object", "required": ["experiment_id", "variants"], "properties": {
    "experiment_id": {"type": "string"}, "as_of_ms": {"type": "integer"},
    "variants": {"type": "array", "items": {"type": "object"}},
    "by_segment": {"type": "object"}, "by_surface": {"type": "object"},
    "guardrails": {"type": "object"}, "significance": {"type": "array"},
    "srm": {"type": "object"}}}


def _text_op(summary: str, content_types: tuple[str, ...], secured: bool) -> dict[str, Any]:
    op = _op(summary, {"type": "string"}, secured=secured)
    op["responses"]["200"]["content"] = {t: {"schema": {"type": "string"}}
                                         for t in content_types}
    return op


def _live_paths() -> dict[str, Any]:
    return {
        "/v1/live/overview": {"get": _op("Live join overview of the caller's tenant",
                                         LIVE_OVERVIEW)},
        "/v1/live/experiments/{experiment_id}": {
            "parameters": [{"name": "experiment_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": _op("Live per-variant metrics, guardrails, significance and SRM "
                       "(404 when the caller's tenant has no such experiment)",
                       LIVE_EXPERIMENT)},
        "/v1/live/stream": {"get": _text_op(
            "Server-Sent Events: an overview event, one experiment event per experiment "
            "and a heartbeat comment every second", ("text/event-stream",), True)},
        "/dashboard": {"get": _text_op("The live evaluation dashboard", ("text/html",),
                                       False)},
        "/dashboard/{asset}": {
            "parameters": [{"name": "asset", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": _text_op("The dashboard's stylesheet and script",
                            tuple(sorted(set(ASSETS.values()))), False)},
    }


def document(live: bool = False) -> dict[str, Any]:
    """The document; ``live`` adds the live evaluation routes (served when the app
    has a live source)."""
    health = {"type": "object"}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "RecSys Stream serving API", "version": "1.0.0"},
        "components": {"securitySchemes": {"apiKey": {"type": "apiKey", "in": "header",
                                                      "name": "X-API-Key"}}},
        "paths": {
            "/v1/recommend": {"post": _op("Ranked recommendations", RANKED, RECOMMEND)},
            "/v1/recommend/validate": {"post": _op(
                "Normalise and validate a recommend request (no ranking)", {"type": "object"},
                RECOMMEND)},
            "/v1/similar": {"post": _op("Co-visitation neighbours of one item", RANKED,
                                        SIMILAR)},
            "/v1/admin/tenants/{tenant_id}/config": _admin({
                "get": _versioned(_op("Current tenant config", {"type": "object"}), False),
                "put": _versioned(_op("Write tenant config (If-Match for optimistic "
                                      "concurrency)", {"type": "object"}, CONFIG), True),
            }),
            "/v1/admin/tenants/{tenant_id}/rules": _admin({
                "get": _versioned(_op("Current tenant rules", {"type": "object"}), False),
                "put": _versioned(_op("Write tenant rules (If-Match for optimistic "
                                      "concurrency)", {"type": "object"}, RULES), True),
            }),
            "/v1/admin/tenants/{tenant_id}/cache/invalidate": _admin({
                "post": _op("Invalidate cached config, rules or popularity",
                            {"type": "object"},
                            _obj({"targets": {"type": "array", "maxItems": 10, "items": {
                                "enum": ["config", "rules", "popularity"]}},
                                "surface": _text(128)})),
            }),
            "/v1/admin/tenants/{tenant_id}/audit": _admin({
                "get": _with_params(
                    _op("Audit trail, newest first", {"type": "object"}),
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "before", "in": "query",
                     "schema": {"type": "string", "format": "date-time"}},
                    {"name": "before_id", "in": "query", "schema": INT64}),
            }),
            "/healthz": {"get": _op("Liveness", health, secured=False)},
            "/readyz": {"get": _op("Readiness (503 when not ready)", health, secured=False)},
            "/openapi.json": {"get": _op("This document", {"type": "object"}, secured=False)},
            "/openapi.yaml": {"get": {
                "summary": "This document as YAML",
                "responses": {"200": {"description": "OK", "content": {
                    "application/yaml": {"schema": {"type": "object"}}}}},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics (text exposition format)",
                "responses": {"200": {"description": "OK",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
        },
    }
    if live:
        doc["paths"].update(_live_paths())
    return doc
