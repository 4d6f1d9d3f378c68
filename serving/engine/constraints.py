"""Exclusions, required tags, and the constrained top-k selection with backfill.

Before ranking: ``exclude_ids`` go, unavailable items go, and with ``required_tags``
only items carrying one of them (any-of) stay — items without catalog metadata are
dropped then, as in the original.

Selection (our improvement over the original, which cut to k *first* and then
removed forbidden items and ``max_per_tag`` excess, coming up short): pins in pin
order, then the ranked candidates, are walked greedily; an item with a forbidden tag,
or one whose tag has reached its ``max_per_tag``, is skipped and counted, and the walk
continues into the remaining candidates until k items are chosen or none are left.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from serving.engine.diversity import Caps, mmr_next
from serving.engine.model import EngineSettings
from serving.views import ItemMeta

T = TypeVar("T")


def prefilter(
    candidates: Mapping[str, T],
    metas: Mapping[str, ItemMeta | None],
    exclude_ids: frozenset[str],
    required_tags: frozenset[str],
    tags_ok: bool,
) -> dict[str, T]:
    """Candidates surviving exclusions, availability and required tags (any-of)."""
    need_tags = bool(required_tags) and tags_ok
    get = metas.get
    if not exclude_ids and not need_tags:  # the common case: availability only
        return {i: v for i, v in candidates.items() if (m := get(i)) is None or m.available}
    out = {}
    for item, value in candidates.items():
        if item in exclude_ids:
            continue
        meta = get(item)
        if meta is not None and not meta.available:
            continue
        if need_tags and (meta is None or meta.tags.isdisjoint(required_tags)):
            continue
        out[item] = value
    return out


@dataclass(frozen=True, slots=True)
class TagPolicy:
    forbidden: frozenset[str] = frozenset()
    max_per_tag: Mapping[str, int] = field(default_factory=dict)

    def allows(self, tags: frozenset[str], counts: Counter[str]) -> bool:
        if self.forbidden and not self.forbidden.isdisjoint(tags):
            return False
        limits = self.max_per_tag
        return not limits or all(counts[t] < limits[t] for t in tags if t in limits)


@dataclass(slots=True)
class Selection:
    pins: list[str]
    rest: list[str]
    tag_filtered: int = 0


def select(
    pins: list[str],
    ranked: list[str],
    scores: dict[str, float],
    k: int,
    tags_of: Callable[[str], frozenset[str]],
    policy: TagPolicy,
    settings: EngineSettings,
) -> Selection:
    """Choose up to k items: pins first, then ranked (or MMR) order, with backfill."""
    counts: Counter[str] = Counter()
    out = Selection([], [])
    for item in pins:
        if len(out.pins) >= k:
            break
        tags = tags_of(item)
        if not policy.allows(tags, counts):
            out.tag_filtered += 1
            continue
        counts.update(tags)
        out.pins.append(item)
    use_mmr = settings.mmr_lambda > 0
    capped = settings.brand_cap > 0 or settings.category_cap > 0
    if not (use_mmr or capped or policy.forbidden or policy.max_per_tag):
        out.rest = ranked[: max(k - len(out.pins), 0)]  # nothing to skip: plain cut
        return out
    caps = Caps(settings.brand_cap, settings.category_cap,
                settings.brand_prefixes, settings.category_prefixes)
    chosen_tags = [tags_of(i) for i in out.pins]
    remaining = deque(ranked)
    max_score = max((scores[i] for i in remaining), default=0.0)
    while remaining and len(out.pins) + len(out.rest) < k:
        if use_mmr:
            item = mmr_next(remaining, scores, chosen_tags, tags_of,
                            settings.mmr_lambda, max_score)
            remaining.remove(item)
        else:
            item = remaining.popleft()
        tags = tags_of(item)
        if not policy.allows(tags, counts):
            out.tag_filtered += 1
            continue
        if capped and not caps.allows(tags):
            continue
        if policy.max_per_tag:
            counts.update(tags)
        if capped:
            caps.take(tags)
        chosen_tags.append(tags)
        out.rest.append(item)
    return out
