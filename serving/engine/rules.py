"""Merchandising rules: block, pin, boost by priority (spec §5.5). Pure.

Active rules (enabled, scope matches, ``valid_from ≤ now < valid_until``) run in
priority-descending order, stable for equal priorities:

- BLOCK removes the item, whatever its priority (so a pin of it never takes a slot);
- PIN moves an item to the pinned list (at most ``max_pin_slots`` overall, ``max_pins``
  per rule), skipping blocked, excluded and already pinned items; an item rule may
  inject an item that is not a candidate (score 0);
- BOOST adds ``delta = score × boost_value`` (``boost_value`` when that is 0); an item
  rule may inject a missing item with score ``0 + delta``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ACTIONS = ("block", "pin", "boost")
TARGETS = ("item", "tag", "brand", "category")


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    action: str
    target_type: str
    target_key: str = ""
    item_ids: tuple[str, ...] = ()
    surface: str = ""
    segment: str = ""
    priority: int = 0
    enabled: bool = True
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None
    boost_value: float = 0.0
    max_pins: int = 0

    def active(self, surface: str, segment: str, now_ms: int) -> bool:
        return (
            self.enabled
            and (not self.surface or self.surface.lower() == surface.lower())
            and (not self.segment or self.segment == segment)
            and (self.valid_from_ms is None or self.valid_from_ms <= now_ms)
            and (self.valid_until_ms is None or now_ms < self.valid_until_ms)
        )


@dataclass(frozen=True, slots=True)
class TagMatcher:
    """Which tags name a brand or a category (prefixed tags are not plain tags)."""

    brand_prefixes: tuple[str, ...] = ("brand:",)
    category_prefixes: tuple[str, ...] = ("category:", "cat:")

    def tag_set(self, rule: Rule) -> frozenset[str]:
        """The catalog tags a tag/brand/category rule matches (any one of them)."""
        key = rule.target_key.lower()
        if rule.target_type == "brand":
            return frozenset(p + key for p in self.brand_prefixes)
        if rule.target_type == "category":
            return frozenset(p + key for p in self.category_prefixes)
        if rule.target_type == "tag" and not key.startswith(
            self.brand_prefixes + self.category_prefixes
        ):
            return frozenset({key})
        return frozenset()

    def matches(self, rule: Rule, item_id: str, tags: frozenset[str]) -> bool:
        if rule.target_type == "item":
            return item_id in rule.item_ids
        return not self.tag_set(rule).isdisjoint(tags)


@dataclass(slots=True)
class RuleOutcome:
    scores: dict[str, float]
    pins: list[str] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    injected: set[str] = field(default_factory=set)
    tokens: dict[str, list[str]] = field(default_factory=dict)


def active_rules(rules: Iterable[Rule], surface: str, segment: str, now_ms: int) -> list[Rule]:
    """The rules that apply, priority descending (stable on ties)."""
    live = [r for r in rules if r.active(surface, segment, now_ms)]
    return sorted(live, key=lambda r: -r.priority)


def _targets(rule: Rule, out: RuleOutcome, tags_of: Callable[[str], frozenset[str]],
             matcher: TagMatcher) -> list[str]:
    if rule.target_type == "item":
        return list(rule.item_ids)
    wanted = matcher.tag_set(rule)
    hits = [(-s, i) for i, s in out.scores.items() if not wanted.isdisjoint(tags_of(i))]
    return [i for _, i in sorted(hits)]


def apply_rules(
    scores: dict[str, float],
    rules: Iterable[Rule],
    *,
    tags_of: Callable[[str], frozenset[str]],
    excluded: Callable[[str], bool],
    pin_slots: int,
    matcher: TagMatcher | None = None,
) -> RuleOutcome:
    """Run already-active, already-ordered rules over candidate scores.

    A block always wins, whatever its priority: an item any active BLOCK rule matches
    is never pinned, boosted or injected (in the original a pin that fired before a
    block kept its slot until the block released it; the result is the same, and an
    item injected by a later rule cannot slip past a tag block that ran earlier).
    """
    matcher = matcher or TagMatcher()
    rules = list(rules)
    if not rules:
        return RuleOutcome(scores)
    blocks = [r for r in rules if r.action == "block"]
    out = RuleOutcome(dict(scores))

    block_ids = {i for r in blocks if r.target_type == "item" for i in r.item_ids}
    block_tags = frozenset().union(*(matcher.tag_set(r) for r in blocks))

    def is_blocked(item: str) -> bool:
        if item in out.blocked:
            return True
        if item not in block_ids and block_tags.isdisjoint(tags_of(item)):
            return False
        hit = [r for r in blocks if matcher.matches(r, item, tags_of(item))]
        if hit:
            out.blocked.add(item)
            out.scores.pop(item, None)
            out.tokens.setdefault(item, []).extend(f"rule.block[{r.rule_id}]" for r in hit)
        return bool(hit)

    if blocks:
        for item in list(out.scores):
            is_blocked(item)
    for rule in rules:
        if rule.action == "pin":
            taken = 0
            for item in _targets(rule, out, tags_of, matcher):
                if len(out.pins) >= pin_slots or (rule.max_pins > 0 and taken >= rule.max_pins):
                    break
                if item in out.pins or excluded(item) or is_blocked(item):
                    continue
                if item not in out.scores:
                    out.scores[item] = 0.0
                    out.injected.add(item)
                out.pins.append(item)
                taken += 1
                out.tokens.setdefault(item, []).append(f"rule.pin[{rule.rule_id}]")
        elif rule.action == "boost":
            for item in _targets(rule, out, tags_of, matcher):
                if excluded(item) or is_blocked(item):
                    continue
                if item not in out.scores:
                    out.scores[item] = 0.0
                    out.injected.add(item)
                delta = out.scores[item] * rule.boost_value or rule.boost_value
                out.scores[item] += delta
                out.tokens.setdefault(item, []).append(
                    f"rule.boost:{delta:+.2f}[{rule.rule_id}]")
    return out
