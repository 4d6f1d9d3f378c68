"""Rules compiled once per rules version: priority order, matched tags and reason tokens.

A tenant's rules tuple is parsed once per document version (ETag) by
``serving.tenants.TenantCache``, which hands every request of that version the same
tuple object; ``rulebook`` compiles it on first sight and keeps the result under that
identity. Per request only the activity window of the timed rules is checked: the
scope (enabled, surface, segment) is resolved once per (surface, segment).
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.engine.rules import Rule, TagMatcher

_MAX_SCOPES = 256  # (surface, segment) pairs remembered per book; segments are open-ended
_MAX_BOOKS = 256  # rules versions remembered (a version's tuple lives in TenantCache)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with what matching it needs, worked out once."""

    rule: Rule
    ids: frozenset[str]  # the items an item rule names
    targets: tuple[str, ...]  # an item rule's item_ids in their order
    tags: frozenset[str]  # the catalog tags a tag/brand/category rule matches
    timed: bool  # has a valid_from/valid_until window to check per request
    block_token: str
    pin_token: str

    @classmethod
    def of(cls, rule: Rule, matcher: TagMatcher) -> CompiledRule:
        is_item = rule.target_type == "item"
        return cls(
            rule=rule,
            ids=frozenset(rule.item_ids) if is_item else frozenset(),
            targets=tuple(rule.item_ids) if is_item else (),
            tags=matcher.tag_set(rule),
            timed=rule.valid_from_ms is not None or rule.valid_until_ms is not None,
            block_token=f"rule.block[{rule.rule_id}]",
            pin_token=f"rule.pin[{rule.rule_id}]",
        )

    def in_window(self, now_ms: int) -> bool:
        r = self.rule
        return ((r.valid_from_ms is None or r.valid_from_ms <= now_ms)
                and (r.valid_until_ms is None or now_ms < r.valid_until_ms))


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The rules that apply to one request, in priority order, with their block sets."""

    rules: tuple[CompiledRule, ...]
    blocks: tuple[CompiledRule, ...]
    block_ids: frozenset[str]  # items an active item BLOCK names
    block_tags: frozenset[str]  # tags an active tag/brand/category BLOCK matches
    tags: frozenset[str]  # tags any active rule matches

    def blocks_item(self, item: str, tags: frozenset[str]) -> bool:
        """Whether some active BLOCK names the item or matches one of its tags."""
        return item in self.block_ids or not self.block_tags.isdisjoint(tags)

    @classmethod
    def of(cls, rules: tuple[CompiledRule, ...]) -> ActiveRules:
        blocks = tuple(c for c in rules if c.rule.action == "block")
        return cls(
            rules=rules,
            blocks=blocks,
            block_ids=frozenset().union(*(c.ids for c in blocks)),
            block_tags=frozenset().union(*(c.tags for c in blocks)),
            tags=frozenset().union(*(c.tags for c in rules)),
        )


NO_RULES = ActiveRules.of(())


class RuleBook:
    """One rules version, priority descending (stable on ties), as ``active_rules``."""

    def __init__(self, rules: tuple[Rule, ...], matcher: TagMatcher) -> None:
        ordered = sorted(rules, key=lambda r: -r.priority)
        self.rules = tuple(CompiledRule.of(r, matcher) for r in ordered)
        self._scoped: dict[tuple[str, str], ActiveRules] = {}

    def active(self, surface: str, segment: str, now_ms: int) -> ActiveRules:
        """The rules ``Rule.active`` accepts at ``now_ms``, in priority order."""
        if not self.rules:
            return NO_RULES
        scoped = self._scoped.get((surface, segment))
        if scoped is None:
            wanted = surface.lower()
            scoped = ActiveRules.of(tuple(
                c for c in self.rules
                if c.rule.enabled
                and (not c.rule.surface or c.rule.surface.lower() == wanted)
                and (not c.rule.segment or c.rule.segment == segment)))
            if len(self._scoped) >= _MAX_SCOPES:
                self._scoped.clear()
            self._scoped[(surface, segment)] = scoped
        if not any(c.timed for c in scoped.rules):
            return scoped
        return ActiveRules.of(tuple(c for c in scoped.rules
                                    if not c.timed or c.in_window(now_ms)))


_books: dict[tuple[int, tuple[str, ...], tuple[str, ...]],
             tuple[tuple[Rule, ...], RuleBook]] = {}


def rulebook(rules: tuple[Rule, ...], brand_prefixes: tuple[str, ...],
             category_prefixes: tuple[str, ...]) -> RuleBook:
    """The compiled book of a rules tuple, memoised by the tuple's identity.

    The entry holds the tuple itself, so its id cannot be reused by another object while
    the entry lives; an equal tuple built anew (tests, the offline simulator) compiles
    again, which costs what ranking without the cache did.
    """
    key = (id(rules), brand_prefixes, category_prefixes)
    hit = _books.get(key)
    if hit is not None and hit[0] is rules:
        return hit[1]
    book = RuleBook(rules, TagMatcher(brand_prefixes, category_prefixes))
    if len(_books) >= _MAX_BOOKS:
        _books.clear()
    _books[key] = (rules, book)
    return book
