"""The lenient rules document parser (spec §4.6), producing engine ``Rule`` values.

Accepts an array, an object wrapping one under ``rules``/``items``/``data``, or one
rule object, with the original's aliases for actions, targets and keys. A rule without
``rule_id`` gets a deterministic UUIDv5 of the tenant and the rule's canonical JSON.
Anything it cannot understand is a 422 ``RECSYS_INVALID_RULES`` naming the rule index.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from schemas.errors import ContractError, ServingError
from schemas.timestamps import rfc3339_to_ms
from serving.engine.rules import Rule
from serving.fields import trim

ACTION_ALIASES = {
    **dict.fromkeys(("block", "blocklist", "ban", "exclude", "suppress"), "block"),
    **dict.fromkeys(("pin", "pinned", "force"), "pin"),
    **dict.fromkeys(("boost", "promote", "increase"), "boost"),
}
TARGET_ALIASES = {
    **dict.fromkeys(("item", "items", "product"), "item"),
    **dict.fromkeys(("tag", "label"), "tag"),
    "brand": "brand",
    **dict.fromkeys(("category", "cat"), "category"),
}
ITEM_ID_KEYS = ("item_ids", "items", "item_id", "ids", "product_ids")
ACTION_KEYS = ("action", "rule_action", "operation")


def _invalid(n: int, detail: str) -> ServingError:
    return ServingError(f"rule {n}: {detail}", status=422, code="RECSYS_INVALID_RULES")


def unwrap(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if any(key in doc for key in ACTION_KEYS):  # one rule ("items" is an id alias)
            return [doc]
        for key in ("rules", "items", "data"):
            if isinstance(doc.get(key), list):
                return list(doc[key])
        return [doc]
    raise ServingError("rules must be an array or an object", status=422,
                       code="RECSYS_INVALID_RULES")


def _ids(raw: dict[str, Any], n: int) -> tuple[str, ...]:
    for key in ITEM_ID_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _invalid(n, f"{key} must be a string or an array of strings")
        return tuple(dict.fromkeys(trim(v) for v in values if trim(v)))
    return ()


def _time(raw: dict[str, Any], key: str, n: int) -> int | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        return rfc3339_to_ms(str(value))
    except ContractError as exc:
        raise _invalid(n, f"{key} must be an RFC 3339 date-time") from exc


def _number(raw: dict[str, Any], key: str, n: int, kind: type) -> Any:
    value = raw.get(key)
    if value is None:
        return kind(0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(n, f"{key} must be a number")
    if kind is int and not float(value).is_integer():
        raise _invalid(n, f"{key} must be an integer")
    return kind(value)


def parse_rule(raw: Any, n: int, tenant: str) -> Rule:
    if not isinstance(raw, dict):
        raise _invalid(n, "must be an object")
    action_raw = next((raw[k] for k in ACTION_KEYS if k in raw), None)
    action = ACTION_ALIASES.get(str(action_raw or "").strip().lower())
    if action is None:
        raise _invalid(n, f"unknown action {action_raw!r}; known: block, pin, boost")
    target_doc = raw.get("target")
    target: dict[str, Any] = target_doc if isinstance(target_doc, dict) else {}
    merged = {**raw, **{f"target_{k}" if k in ("type", "key") else k: v
                        for k, v in target.items()}}
    key = trim(str(merged.get("target_key", merged.get("key", "")) or "")).lower()
    item_ids = _ids(merged, n)
    if "target_type" in merged and merged["target_type"] is None:
        raise _invalid(n, "target_type must not be null")
    ttype_raw = merged.get("target_type")
    if ttype_raw is None:
        inferred = [t for t in ("tag", "brand", "category") if merged.get(t)]
        ttype_raw = inferred[0] if inferred else ("item" if item_ids else None)
        if inferred:
            key = trim(str(merged[inferred[0]])).lower()
    ttype = TARGET_ALIASES.get(str(ttype_raw or "").strip().lower())
    if ttype is None:
        raise _invalid(n, f"unknown target_type {ttype_raw!r}; known: item, tag, brand, category")
    if ttype == "item" and not item_ids:
        raise _invalid(n, "an item rule needs item_ids")
    if ttype != "item" and not key:
        raise _invalid(n, f"a {ttype} rule needs target_key")
    enabled = raw.get("enabled")
    enabled = True if enabled is None else enabled
    if not isinstance(enabled, bool):
        raise _invalid(n, "enabled must be a boolean")
    rule_id = str(raw.get("rule_id") or "").strip() or str(uuid.uuid5(
        uuid.NAMESPACE_OID, tenant + orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()))
    return Rule(
        rule_id=rule_id,
        action=action,
        target_type=ttype,
        target_key=key,
        item_ids=item_ids,
        surface=str(raw.get("surface") or raw.get("namespace") or "").strip(),
        segment=str(raw.get("segment_id") or raw.get("segment") or "").strip(),
        priority=_number(raw, "priority", n, int),
        enabled=enabled,
        valid_from_ms=_time(raw, "valid_from", n),
        valid_until_ms=_time(raw, "valid_until", n),
        boost_value=_number(raw, "boost_value", n, float),
        max_pins=_number(raw, "max_pins", n, int),
    )


def parse_rules(doc: Any, tenant: str) -> tuple[Rule, ...]:
    return tuple(parse_rule(raw, n, tenant) for n, raw in enumerate(unwrap(doc)))


def check_reachable(rules: tuple[Rule, ...], brand_prefixes: tuple[str, ...],
                    category_prefixes: tuple[str, ...]) -> None:
    """422 for a rule that can never match any item (checked when a document is written;
    stored documents load as they are). Tag rules skip tags that carry a brand or
    category prefix (spec §5.5), brand and category rules add their prefix to the key."""
    prefixes = {"brand": brand_prefixes, "category": category_prefixes}
    for n, rule in enumerate(rules):
        key = rule.target_key
        if rule.target_type == "tag":
            for kind, kind_prefixes in prefixes.items():
                hit = next((p for p in kind_prefixes if key.startswith(p)), None)
                if hit is not None:
                    raise _invalid(n, f"tag {key!r} never matches: tag rules skip tags with "
                                      f"the {kind} prefix {hit!r}; write "
                                      f'{{"{kind}": "{key.removeprefix(hit)}"}}')
        elif rule.target_type in prefixes:
            own = prefixes[rule.target_type]
            if not own:
                raise _invalid(n, f"{rule.target_type} rules match nothing: no "
                                  f"{rule.target_type} tag prefixes are configured")
            hit = next((p for p in own if key.startswith(p)), None)
            if hit is not None:
                raise _invalid(n, f"{rule.target_type} {key!r} would match the tag "
                                  f"{hit + key!r}; write "
                                  f'{{"{rule.target_type}": "{key.removeprefix(hit)}"}}')
