"""The common ranking in one pass: the same answer as ``pipeline.reference_rank``, faster.

Most requests ask for a plain top-k: no reasons or explain, no allow-list, no required
or forbidden tags, no per-tag limits, no diversity, and rules that only block, boost,
or pin named items. For those the pipeline's stages (prefilter, blend, rules, cut) are
independent per candidate, so one loop does them all:

- a candidate's fate under the rules depends only on its id and its catalog entry: it is
  blocked, or it gets its boosts in rule order. That is worked out once per (active
  rules, catalog entry) and kept (``_Effects``), not once per request;
- its score is the blend of its signals, then ``delta = score × boost_value`` (or
  ``boost_value`` when that is 0) per boost, in rule order: the same float operations in
  the same order as ``blend_scores`` and ``apply_rules``;
- items outside the pool that item rules pin or boost are injected as ``apply_rules``
  does, running the rules in priority order over those items only.

Anything else returns None and the caller runs the reference pipeline: a tag-targeted
pin (its targets depend on the order of the scores at that rule), a NaN score, a
catalog lookup that fails (candidate generation is shared: its warnings and errors are
the reference's own). ``tests/unit/serving/test_engine_fast_path.py``
checks on generated inputs that an answer, when given, equals the reference's.
"""

from __future__ import annotations

from collections.abc import Mapping

from serving.engine.candidates import generate
from serving.engine.model import EngineSettings, RankQuery, RankResult, ViewSet, ranked_item
from serving.engine.order import all_comparable, top_ranked
from serving.engine.reads import catalog_metas
from serving.engine.rulebook import ActiveRules, rulebook
from serving.engine.rules import boost_delta
from serving.engine.scoring import blend_cooc, finite_score
from serving.engine.warnings import ServingWarning, ordered
from serving.views import ItemMeta

_NO_TAGS: frozenset[str] = frozenset()
# Bounds of the effects memo: candidates per active rule set (one per rules version and
# (surface, segment) scope) before that set starts over, and sets remembered. An entry
# is ~120 bytes (a dict slot, a pair, a boost tuple; measured): ~47 MB at both bounds.
_MAX_EFFECTS = 25_000
_MAX_SETS = 16

# a candidate's effect: None when a rule blocks it, else its boost values in rule order
Effect = tuple[float, ...] | None


class _Effects:
    """Per candidate of one active rule set: (its catalog entry, its effect), kept while
    the entry is the same object (a catalog update replaces it, so it is looked at again).
    """

    def __init__(self, active: ActiveRules) -> None:
        self.active = active
        self.by_item: dict[str, tuple[ItemMeta | None, Effect]] = {}
        boosts = [c for c in active.rules if c.rule.action == "boost"]
        self.boosts = [(c.rule.target_type == "item", c.targets, c.tags, c.rule.boost_value)
                       for c in boosts]
        # a tag pin's targets depend on the scores' order at its turn: the reference's
        self.declines = any(c.rule.action == "pin" and c.rule.target_type != "item"
                            for c in active.rules)

    def of(self, item: str, meta: ItemMeta | None) -> Effect:
        known = self.by_item.get(item)
        if known is not None and known[0] is meta:
            return known[1]
        effect = self._work_out(item, meta)
        if len(self.by_item) >= _MAX_EFFECTS:
            self.by_item.clear()
        self.by_item[item] = (meta, effect)
        return effect

    def _work_out(self, item: str, meta: ItemMeta | None) -> Effect:
        tags = meta.tags if meta is not None else _NO_TAGS
        if self.active.blocks_item(item, tags):
            return None
        values: list[float] = []
        for is_item, targets, rule_tags, value in self.boosts:
            if is_item:  # an item rule boosts once per time it names the item
                values.extend(value for t in targets if t == item)
            elif not rule_tags.isdisjoint(tags):
                values.append(value)
        return tuple(values)


_effect_sets: dict[int, _Effects] = {}


def _effects(active: ActiveRules) -> _Effects:
    """The memo of an active rule set (one per rules version and scope); a set rebuilt per
    request (timed rules) gets a fresh memo that lives for that request only."""
    if any(c.timed for c in active.rules):
        return _Effects(active)
    memo = _effect_sets.get(id(active))
    if memo is None or memo.active is not active:
        if len(_effect_sets) >= _MAX_SETS:
            _effect_sets.clear()
        memo = _effect_sets[id(active)] = _Effects(active)
    return memo


def _eligible(query: RankQuery, settings: EngineSettings) -> bool:
    return (query.explain == "none" and not query.include_reasons and not query.include_ids
            and not query.required_tags and not query.forbidden_tags and not query.max_per_tag
            and not settings.diversity_on)


def fast_rank(query: RankQuery, views: ViewSet, settings: EngineSettings) -> RankResult | None:
    """``reference_rank``'s answer for a plain top-k, or None when it does not apply."""
    if not _eligible(query, settings):
        return None
    book = rulebook(query.rules, settings.brand_prefixes, settings.category_prefixes)
    active = book.active(query.surface, query.segment, query.now_ms)
    effects = _effects(active)
    if effects.declines:
        return None
    pool = generate(query, views, settings)
    try:
        metas = catalog_metas(views.catalog, query.tenant, pool.pop)
    except Exception:  # the reference records the failure and warns
        return None
    exclude = frozenset(query.exclude_ids)
    scores = _scores(query, pool.pop, pool.cooc, metas, effects, exclude)
    pins: list[str] = []
    injected: set[str] = set()
    if active.rules:
        try:
            _inject(query, views, active, exclude, scores, settings, pins, injected)
        except Exception:  # a failed lookup: the reference warns and drops constraints
            return None
    if not all_comparable(scores.values()):  # a NaN: the reference's slow path
        return None
    pinned = set(pins)
    rest = [i for i in scores if i not in pinned] if pins else list(scores)
    final = pins[:query.k] + top_ranked(rest, scores, query.k - min(len(pins), query.k))
    warnings = list(pool.warnings)
    shown_injected = sum(1 for i in pins[:query.k] if i in injected)
    if shown_injected:
        warnings.append(ServingWarning(
            "RULE_PIN_INJECTED", f"{shown_injected} pinned items were injected into results"))
    items = tuple(ranked_item(item, n, finite_score(scores[item]), item in pinned)
                  for n, item in enumerate(final, start=1))
    return RankResult(items, ordered(warnings), anchors=pool.anchors)


def _scores(query: RankQuery, pop: Mapping[str, float], cooc: Mapping[str, float],
            metas: Mapping[str, ItemMeta | None], effects: _Effects,
            exclude: frozenset[str]) -> dict[str, float]:
    """Every kept, unblocked candidate's blended and boosted score, in pool order."""
    w = query.weights
    wp, wc = w.pop, w.cooc
    with_cooc = blend_cooc(w, cooc)
    remembered = effects.by_item.get
    cooc_get = cooc.get
    out: dict[str, float] = {}
    for item, p in pop.items():
        meta = metas.get(item)
        if (meta is not None and not meta.available) or item in exclude:
            continue
        known = remembered(item)
        effect = known[1] if known is not None and known[0] is meta else effects.of(item, meta)
        if effect is None:  # blocked
            continue
        score = wp * p / (p + 1.0) if p > 0 else 0.0
        if with_cooc:
            c = cooc_get(item)
            if c is not None and c > 0:
                score += wc * c / (c + 1.0)
        for value in effect:
            score += boost_delta(score, value)
        out[item] = score
    return out


def _inject(query: RankQuery, views: ViewSet, active: ActiveRules, exclude: frozenset[str],
            scores: dict[str, float], settings: EngineSettings, pins: list[str],
            injected: set[str]) -> None:
    """Run the pin rules, and the boosts of items outside the pool, in rule order (as
    ``apply_rules``): fills ``pins`` and ``injected`` and adds injected items to
    ``scores``. A catalog lookup that fails raises."""
    pin_slots = min(settings.max_pin_slots, query.k)
    pool = set(scores)
    tags: dict[str, frozenset[str]] = {}

    def in_play(item: str) -> bool:
        """A candidate or an item injected before; else injected now (score 0) unless it
        is excluded, unavailable or blocked."""
        if item in scores:
            return True
        meta = views.catalog.get(query.tenant, item)
        item_tags = meta.tags if meta is not None else _NO_TAGS
        if (item in exclude or (meta is not None and not meta.available)
                or active.blocks_item(item, item_tags)):
            return False
        tags[item] = item_tags
        scores[item] = 0.0
        injected.add(item)
        return True

    for c in active.rules:
        rule = c.rule
        if rule.action == "pin":
            taken = 0
            for item in c.targets:
                if len(pins) >= pin_slots or (rule.max_pins > 0 and taken >= rule.max_pins):
                    break
                if item in pins or not in_play(item):
                    continue
                pins.append(item)
                taken += 1
        elif rule.action == "boost":
            value = rule.boost_value
            if rule.target_type == "item":
                for item in c.targets:
                    # a pool item was boosted with the pool (``_Effects``)
                    if item not in pool and in_play(item):
                        scores[item] += boost_delta(scores[item], value)
            else:  # a tag rule reaches the injected items it matches
                for item in injected:
                    if not c.tags.isdisjoint(tags[item]):
                        scores[item] += boost_delta(scores[item], value)
