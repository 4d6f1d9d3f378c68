"""One ranking, stage by stage (spec §4.5 step 6-10, §5): values in, values out.

candidates → exclusions and required tags → blended score → rules (block, pin,
boost) → allow-list → constrained selection with backfill (forbidden_tags,
max_per_tag, diversity) → deterministic order → reasons, explain, warnings.
The views are in-memory reads; nothing here awaits, logs or looks at a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from serving.engine.candidates import generate
from serving.engine.catalog_fill import CATALOG_REASON
from serving.engine.constraints import TagPolicy, prefilter, select
from serving.engine.fast_path import fast_rank
from serving.engine.model import (
    EngineSettings,
    RankedItem,
    RankQuery,
    RankResult,
    ViewSet,
    ranked_item,
)
from serving.engine.order import all_comparable, final_order, ranked_order, top_ranked
from serving.engine.reads import catalog_metas
from serving.engine.reasons import explain_block, reason_tokens
from serving.engine.rulebook import rulebook
from serving.engine.rules import apply_rules
from serving.engine.scoring import Signals, blend_scores, finite_score
from serving.engine.warnings import ServingWarning, ordered
from serving.views import ItemMeta

_NO_TAGS: frozenset[str] = frozenset()
_NO_SIGNALS = Signals()
_MISSING = object()
_DEFAULT_SETTINGS = EngineSettings()


class _Catalog:
    """Memoised catalog lookups for one ranking; remembers whether any lookup failed."""

    def __init__(self, query: RankQuery, views: ViewSet) -> None:
        self.tenant = query.tenant
        self.catalog = views.catalog
        self.metas: dict[str, ItemMeta | None] = {}
        self.tag_sets: dict[str, frozenset[str]] = {}
        self.error: str | None = None

    def meta(self, item: str) -> ItemMeta | None:
        known = self.metas.get(item, _MISSING)
        if known is not _MISSING:
            return known  # type: ignore[return-value]
        try:
            meta = self.catalog.get(self.tenant, item)
        except Exception as exc:  # constraints are skipped, with a warning
            self.error = self.error or str(exc)
            meta = None
        self.metas[item] = meta
        self.tag_sets[item] = meta.tags if meta is not None else _NO_TAGS
        return meta

    def prefetch(self, ids: Collection[str]) -> None:
        """Look every candidate up in one call (the common path: no errors)."""
        try:
            metas = catalog_metas(self.catalog, self.tenant, ids)
        except Exception:  # fall back to one-by-one lookups that record the error
            for item in ids:
                self.meta(item)
            return
        tag_sets = {i: _NO_TAGS if m is None else m.tags for i, m in metas.items()}
        if self.metas:  # (a second prefetch adds to the first)
            self.metas.update(metas)
            self.tag_sets.update(tag_sets)
        else:  # the dicts were built for this call: keep them rather than copy them
            self.metas, self.tag_sets = metas, tag_sets

    def tags(self, item: str) -> frozenset[str]:
        tags = self.tag_sets.get(item)
        if tags is None:
            self.meta(item)
            tags = self.tag_sets[item]
        return tags


def _unavailable(catalog: _Catalog, exclude: frozenset[str]) -> Callable[[str], bool]:
    def check(item: str) -> bool:
        meta = catalog.meta(item)
        return item in exclude or (meta is not None and not meta.available)

    return check


def rank(query: RankQuery, views: ViewSet, settings: EngineSettings | None = None) -> RankResult:
    """One ranking: the one-pass common case (``fast_path``) when it applies, else every
    stage of the reference pipeline. Both give the same answer."""
    settings = settings or _DEFAULT_SETTINGS
    fast = fast_rank(query, views, settings)
    return fast if fast is not None else reference_rank(query, views, settings)


def reference_rank(query: RankQuery, views: ViewSet,
                   settings: EngineSettings | None = None) -> RankResult:
    """Every stage, in the order of the spec: the definition ``fast_rank`` must match."""
    settings = settings or _DEFAULT_SETTINGS
    pool = generate(query, views, settings)
    warnings = list(pool.warnings)
    catalog = _Catalog(query, views)
    catalog.prefetch(pool.pop)
    tags_ok = catalog.error is None
    exclude = frozenset(query.exclude_ids)
    kept = prefilter(pool.pop, catalog.metas, exclude, frozenset(query.required_tags), tags_ok)
    scores = blend_scores(kept, pool.cooc, query.weights)

    book = rulebook(query.rules, settings.brand_prefixes, settings.category_prefixes)
    detailed = query.include_reasons or query.explain != "none"
    outcome = apply_rules(
        scores, book.active(query.surface, query.segment, query.now_ms),
        tags_of=catalog.tags, excluded=_unavailable(catalog, exclude),
        pin_slots=min(settings.max_pin_slots, query.k), known_tags=catalog.tag_sets,
        with_tokens=detailed, adopt_known=True,
    )
    scores, pins = outcome.scores, list(outcome.pins)
    pinned = set(pins)
    rest = [i for i in scores if i not in pinned]

    if query.include_ids:
        allow = set(query.include_ids)
        removed = sum(1 for i in scores if i not in allow)
        pins = [i for i in pins if i in allow]
        rest = [i for i in rest if i in allow]
        if removed:
            warnings.append(ServingWarning(
                "CANDIDATES_INCLUDE_FILTERED",
                f"{removed} items removed by candidates.include_ids"))
        missing = [i for i in query.include_ids if i not in scores]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            warnings.append(ServingWarning(
                "CANDIDATES_INCLUDE_UNMATCHED",
                f"{len(missing)} of candidates.include_ids are not servable: {shown}"))

    if not tags_ok:
        warnings.append(ServingWarning(
            "TAG_LOOKUP_FAILED", f"tag lookup failed, constraints skipped: {catalog.error}"))
    policy = (TagPolicy(frozenset(query.forbidden_tags), dict(query.max_per_tag))
              if tags_ok else TagPolicy())
    if settings.diversity_on or policy.forbidden or policy.max_per_tag:
        ranked = ranked_order(rest, scores)  # the walk may go all the way down
    else:
        ranked = top_ranked(rest, scores, query.k - len(pins))  # a plain cut
    chosen = select(pins, ranked, scores, query.k, catalog.tags, policy, settings)
    injected = sum(1 for i in chosen.pins if i in outcome.injected)
    if injected:
        warnings.append(ServingWarning(
            "RULE_PIN_INJECTED", f"{injected} pinned items were injected into results"))
    if chosen.tag_filtered:
        warnings.append(ServingWarning(
            "CONSTRAINTS_FILTERED", f"{chosen.tag_filtered} items removed by tag constraints"))

    if settings.mmr_lambda <= 0 and all_comparable(scores.values()):
        final = chosen.pins + chosen.rest  # walked in ranked order: already sorted
    else:
        final = final_order(chosen.pins, chosen.rest, scores)
    if query.include_ids and not final:
        warnings.append(ServingWarning("CANDIDATES_INCLUDE_EMPTY",
                                       "no items matched candidates.include_ids"))
    if not detailed:
        items = tuple(ranked_item(item, n, finite_score(scores[item]), item in pinned)
                      for n, item in enumerate(final, start=1))
        return RankResult(items, ordered(warnings), anchors=pool.anchors)
    detail = []
    filled = frozenset(pool.filled)
    for n, item in enumerate(final, start=1):
        # an item the rules injected has no signals, even when prefilter dropped it
        sig = pool.signals(item) if item in kept else _NO_SIGNALS
        tokens = outcome.tokens.get(item, [])
        reasons = None
        if query.include_reasons:
            reasons = reason_tokens(sig, query.weights, tokens, settings.diversity_on)
            if item in filled:
                reasons = (CATALOG_REASON, *reasons)
        detail.append(RankedItem(
            item_id=item,
            rank=n,
            score=finite_score(scores[item]),
            pinned=item in pinned,
            reasons=reasons,
            explain=explain_block(query.explain, sig, query.weights, tokens,
                                  query.include_reasons, pool.anchors),
        ))
    return RankResult(tuple(detail), ordered(warnings), anchors=pool.anchors)
