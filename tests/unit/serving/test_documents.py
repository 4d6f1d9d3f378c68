"""Rules and config documents: the lenient rules parser and the strict config parser."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest

from schemas.errors import ServingError
from serving.engine.rules import Rule
from serving.rules_doc import check_reachable, parse_rules
from serving.tenant_config import check_writable, parse_config


def test_aliases_and_shapes():
    doc = {"data": [
        {"rule_id": "r1", "rule_action": "Promote", "tag": "Sale", "boost_value": 0.5,
         "priority": 2, "surface": "home", "segment_id": "vip",
         "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-02-01T00:00:00+00:00"},
        {"rule_id": "r2", "action": "pinned", "target": {"type": "cat", "key": "Shoes"},
         "max_pins": 2, "enabled": False},
        {"rule_id": "r3", "operation": "suppress", "brand": "Acme", "namespace": "pdp"},
    ]}
    assert parse_rules(doc, "t1") == (
        Rule("r1", "boost", "tag", "sale", (), "home", "vip", 2, True, 1767225600000,
             1769904000000, 0.5, 0),
        Rule("r2", "pin", "category", "shoes", (), "", "", 0, False, None, None, 0.0, 2),
        Rule("r3", "block", "brand", "acme", (), "pdp", "", 0, True, None, None, 0.0, 0),
    )


def test_single_object_and_deterministic_uuid5_ids():
    raw = {"action": "ban", "item_ids": [" a ", "b", "a"]}
    [rule] = parse_rules(raw, "t1")
    expected = uuid.uuid5(uuid.NAMESPACE_OID,
                          "t1" + orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode())
    assert rule.rule_id == str(expected) and rule.item_ids == ("a", "b")
    assert parse_rules(raw, "t2")[0].rule_id != rule.rule_id


BAD_RULES: list[tuple[Any, str]] = [
    ("nope", "rules must be an array or an object"),
    ([1], "rule 0: must be an object"),
    ([{"action": "x", "item_ids": ["a"]}], "rule 0: unknown action 'x'"),
    ([{"action": "pin"}], "rule 0: unknown target_type None"),
    ([{"action": "pin", "target_type": "item"}], "rule 0: an item rule needs item_ids"),
    ([{"action": "pin", "target_type": "tag"}], "rule 0: a tag rule needs target_key"),
    ([{"action": "pin", "item_ids": [1]}], "item_ids must be a string or an array"),
    ([{"action": "pin", "item_ids": ["a"], "valid_from": "soon"}], "valid_from must be an RFC"),
    ([{"action": "pin", "item_ids": ["a"], "priority": 1.5}], "priority must be an integer"),
    ([{"action": "boost", "item_ids": ["a"], "boost_value": "1"}], "boost_value must be a num"),
    ([{"action": "pin", "item_ids": ["a"], "enabled": "yes"}], "enabled must be a boolean"),
]


@pytest.mark.parametrize(("doc", "message"), BAD_RULES)
def test_invalid_rules(doc: Any, message: str) -> None:
    with pytest.raises(ServingError) as info:
        parse_rules(doc, "t1")
    assert (info.value.status, info.value.code) == (422, "RECSYS_INVALID_RULES")
    assert re.search(re.escape(message), str(info.value)), str(info.value)


def test_config_parses_weights_limits_and_mode():
    cfg = parse_config({"weights": {"pop": 1, "cooc": 0.5}, "limits": {"max_k": 50},
                        "flags": {"x": True}, "algo": "COOC"})
    assert cfg.weights is not None and (cfg.weights.pop, cfg.weights.cooc, cfg.weights.emb) == (
        1.0, 0.5, 0.0)
    assert (cfg.max_k, cfg.max_exclude_ids, cfg.mode, cfg.flags) == (50, None, "cooc",
                                                                      (("x", True),))
    assert parse_config({"algo": "magic"}).mode == "blend"


BAD_CONFIGS: list[tuple[Any, str]] = [
    ([], "config must be a JSON object"),
    ({"weight": {}}, "unknown config field 'weight'"),
    ({"weights": {"pop": -1}}, "weights must be non-negative"),
    ({"weights": {"alpha": 1}}, "unknown field weights.'alpha'"),
    ({"limits": {"max_k": -1}}, "limits must be non-negative"),
    ({"limits": {"max_k": "5"}}, "limits.max_k must be an integer"),
    ({"flags": {"a": 1}}, "flags must be an object of name → boolean"),
]


@pytest.mark.parametrize(("doc", "message"), BAD_CONFIGS)
def test_invalid_config(doc: Any, message: str) -> None:
    with pytest.raises(ServingError) as info:
        parse_config(doc)
    assert (info.value.status, info.value.code) == (422, "RECSYS_INVALID_CONFIG")
    assert message in str(info.value)


def test_one_rule_naming_its_items_with_the_items_alias_is_a_rule_not_a_wrapper():
    [rule] = parse_rules({"action": "pin", "items": ["p1", "p2"]}, "t1")
    assert (rule.action, rule.target_type, rule.item_ids) == ("pin", "item", ("p1", "p2"))
    # a wrapper without an action key still unwraps
    assert [r.item_ids for r in parse_rules({"items": [{"action": "pin", "items": "p3"}]},
                                            "t1")] == [("p3",)]


BRANDS, CATEGORIES = ("brand:",), ("category:", "cat:")
UNREACHABLE: list[tuple[Any, str]] = [
    ([{"action": "block", "tag": "Category:C2"}],
     'rule 0: tag \'category:c2\' never matches: tag rules skip tags with the category '
     'prefix \'category:\'; write {"category": "c2"}'),
    ([{"action": "boost", "item_ids": ["a"]}, {"action": "boost", "tag": "brand:acme"}],
     'rule 1: tag \'brand:acme\' never matches: tag rules skip tags with the brand prefix '
     '\'brand:\'; write {"brand": "acme"}'),
    ([{"action": "block", "category": "cat:shoes"}],
     'rule 0: category \'cat:shoes\' would match the tag \'cat:cat:shoes\'; write '
     '{"category": "shoes"}'),
]


@pytest.mark.parametrize(("doc", "message"), UNREACHABLE)
def test_rules_that_can_never_match_are_refused(doc: Any, message: str) -> None:
    with pytest.raises(ServingError) as info:
        check_reachable(parse_rules(doc, "t1"), BRANDS, CATEGORIES)
    assert (info.value.status, info.value.code) == (422, "RECSYS_INVALID_RULES")
    assert str(info.value) == message


def test_reachable_rules_pass_and_unset_prefixes_refuse_brand_rules():
    rules = parse_rules([{"action": "block", "tag": "sale"}, {"action": "boost", "brand": "acme"},
                         {"action": "pin", "category": "shoes"}], "t1")
    check_reachable(rules, BRANDS, CATEGORIES)  # raises on failure
    with pytest.raises(ServingError, match="no brand tag prefixes are configured"):
        check_reachable(rules, (), CATEGORIES)


@pytest.mark.parametrize(("doc", "message"), [
    ({"algo": "nope"}, "algo must be one of blend, popularity, cooc, implicit; got 'nope'"),
    ({"limits": {"max_k": 0}}, "limits.max_k must be at least 1; got 0"),
])
def test_configs_that_load_but_cannot_be_written(doc: Any, message: str) -> None:
    config = parse_config(doc)  # a stored document of the original still loads
    with pytest.raises(ServingError) as info:
        check_writable(config)
    assert (info.value.status, info.value.code) == (422, "RECSYS_INVALID_CONFIG")
    assert message in str(info.value)
    check_writable(parse_config({"algo": " COOC ", "limits": {"max_k": 1}}))
