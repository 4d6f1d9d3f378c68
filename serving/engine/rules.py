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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from serving.engine.rulebook import ActiveRules, CompiledRule

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


def boost_delta(score: float, boost_value: float) -> float:
    """What a BOOST adds: ``score × boost_value``, or ``boost_value`` when that is 0."""
    return score * boost_value or boost_value


def active_rules(rules: Iterable[Rule], surface: str, segment: str, now_ms: int) -> list[Rule]:
    """The rules that apply, priority descending (stable on ties)."""
    live = [r for r in rules if r.active(surface, segment, now_ms)]
    return sorted(live, key=lambda r: -r.priority)


def _targets(rule: CompiledRule, scores: dict[str, float], candidates: Iterable[str],
             known: Mapping[str, frozenset[str]]) -> Sequence[str]:
    """An item rule's items in order; a tag rule's ``candidates`` still in ``scores``
    whose tags it matches, score desc, item_id asc."""
    if rule.rule.target_type == "item":
        return rule.targets
    wanted = rule.tags
    if not wanted:
        return ()
    hits = [(-scores[i], i) for i in candidates
            if i in scores and not wanted.isdisjoint(known[i])]
    hits.sort()
    return [i for _, i in hits]


def apply_rules(
    scores: dict[str, float],
    active: ActiveRules,
    *,
    tags_of: Callable[[str], frozenset[str]],
    excluded: Callable[[str], bool],
    pin_slots: int,
    known_tags: Mapping[str, frozenset[str]] | None = None,
    with_tokens: bool = True,
    adopt_known: bool = False,
) -> RuleOutcome:
    """Run the active rules (``RuleBook.active``, priority order) over candidate scores.

    Every item of ``scores`` must be a candidate that is neither excluded nor unavailable
    (the pipeline's prefilter made sure); a rule may inject other items, which are
    checked (``excluded``, blocks) before they join.

    A block always wins, whatever its priority: an item any active BLOCK rule matches
    is never pinned, boosted or injected (in the original a pin that fired before a
    block kept its slot until the block released it; the result is the same, and an
    item injected by a later rule cannot slip past a tag block that ran earlier).
    ``known_tags`` are tag sets already looked up (``tags_of`` answers the others);
    without ``with_tokens`` no reason tokens are written (nobody asked for reasons).
    With ``adopt_known`` the ``known_tags`` dict itself is used and gains the tag sets
    of items looked up here (the pipeline's per-request catalog memo), not a copy.
    """
    if not active.rules:
        return RuleOutcome(scores)
    blocks, block_ids, block_tags = active.blocks, active.block_ids, active.block_tags
    out = RuleOutcome(dict(scores))
    current, blocked, tokens = out.scores, out.blocked, out.tokens
    # the tag sets of every item in play (injected items are added as they join)
    known: dict[str, frozenset[str]]
    if adopt_known and isinstance(known_tags, dict):
        known = known_tags
    else:
        known = dict(known_tags) if known_tags is not None else {}
    missing = [i for i in current if i not in known]
    known.update((i, tags_of(i)) for i in missing)

    def is_blocked(item: str) -> bool:
        if item in blocked:
            return True
        tags = known[item] if item in known else tags_of(item)
        if not active.blocks_item(item, tags):
            return False
        # an item rule names items (its tag set is empty), a tag rule matches tags
        hit = [c for c in blocks if item in c.ids or not c.tags.isdisjoint(tags)]
        if hit:
            blocked.add(item)
            current.pop(item, None)
            if with_tokens:
                tokens.setdefault(item, []).extend(c.block_token for c in hit)
        return bool(hit)

    # the candidates any tag rule can touch, found in one pass over the pool
    touched = [i for i in current if not active.tags.isdisjoint(known[i])] \
        if active.tags else []
    if block_ids:  # (the order blocks are found in does not matter: a set and a dict)
        named = [i for i in block_ids if i in current] if len(block_ids) < len(current) \
            else [i for i in current if i in block_ids]
        for item in named:
            is_blocked(item)
    if block_tags:
        for item in touched:
            if item in current and not block_tags.isdisjoint(known[item]):
                if with_tokens:
                    is_blocked(item)  # the tokens name every block rule that hit
                else:  # (some block rule's tags meet these: ``block_tags`` is their union)
                    blocked.add(item)
                    del current[item]
    # From here every item in ``current`` is unblocked and not excluded: the candidates
    # were all checked above, and an item is injected only after both checks.
    pins = out.pins
    for c in active.rules:
        rule = c.rule
        if rule.action == "pin":
            taken = 0
            for item in _targets(c, current, [*touched, *out.injected], known):
                if len(pins) >= pin_slots or (rule.max_pins > 0 and taken >= rule.max_pins):
                    break
                if item in pins or (item not in current
                                    and (excluded(item) or is_blocked(item))):
                    continue
                if item not in current:
                    current[item] = 0.0
                    out.injected.add(item)
                    known[item] = tags_of(item)
                pins.append(item)
                taken += 1
                if with_tokens:
                    tokens.setdefault(item, []).append(c.pin_token)
        elif rule.action == "boost":
            value = rule.boost_value
            for item in _targets(c, current, [*touched, *out.injected], known):
                if item not in current:
                    if excluded(item) or is_blocked(item):
                        continue
                    current[item] = 0.0
                    out.injected.add(item)
                    known[item] = tags_of(item)
                delta = boost_delta(current[item], value)
                current[item] += delta
                if with_tokens:
                    tokens.setdefault(item, []).append(
                        f"rule.boost:{delta:+.2f}[{rule.rule_id}]")
    return out
