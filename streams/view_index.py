"""What a worker has changed since it last published its views (pure, in memory).

The item stage's table is the truth; this index mirrors the part of it the views
need, grouped the way they are published, and remembers which view keys are dirty.
It is rebuilt from the table after every recovery. Co-visitation counts are not
copied: the table's ``PairMap`` already holds them by anchor, and the index reads them
from there when it publishes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.views import DecayedEntry
from streams.covisitation import neighbours
from streams.decay import Decayed
from streams.pair_store import Anchor, PairMap
from streams.popularity import top_k


@dataclass
class ViewIndex:
    half_life_ms: float
    top_k: int
    top_n: int
    popularity: dict[tuple[str, str, int], dict[str, Decayed]] = field(default_factory=dict)
    """(tenant, surface, partition) → item → score."""
    pairs: PairMap = field(default_factory=PairMap)
    """The item table's data: (tenant, surface, anchor) → neighbour → count."""
    history: dict[tuple[str, str], tuple[tuple[str, int], ...]] = field(default_factory=dict)
    dirty_popularity: set[tuple[str, str, int]] = field(default_factory=set)
    dirty_covisitation: set[Anchor] = field(default_factory=set)
    dirty_history: set[tuple[str, str]] = field(default_factory=set)

    def set_score(self, tenant: str, surface: str, partition: int, item: str, s: Decayed) -> None:
        self.popularity.setdefault((tenant, surface, partition), {})[item] = s
        self.dirty_popularity.add((tenant, surface, partition))

    def mark_covisitation(self, anchors: Iterable[Anchor]) -> None:
        """These anchors' counts changed in ``pairs`` (call once they are written there)."""
        self.dirty_covisitation.update(anchors)

    def set_history(self, tenant: str, user: str, recent: tuple[tuple[str, int], ...]) -> None:
        self.history[(tenant, user)] = recent
        self.dirty_history.add((tenant, user))

    def clear(self) -> None:
        """Forget everything (before a rebuild); what was published stays published."""
        self.popularity.clear()
        self.history.clear()

    def mark_all_dirty(self) -> None:
        self.dirty_popularity |= set(self.popularity)
        self.dirty_covisitation.update(self.pairs.anchors())
        self.dirty_history |= set(self.history)

    def popularity_snapshot(self, key: tuple[str, str, int]) -> list[DecayedEntry]:
        scores = self.popularity.get(key, {})
        if not scores:
            return []
        t_ref = max(s.t_ms for s in scores.values())
        best = {item for item, _ in top_k(scores, self.top_k, t_ref, self.half_life_ms)}
        return [DecayedEntry(i, scores[i].value, scores[i].t_ms) for i in sorted(best)]

    def neighbour_snapshot(self, key: Anchor) -> list[tuple[str, int]]:
        return neighbours(self.pairs.counts(key), self.top_n)

    def drain(
        self,
    ) -> tuple[
        Iterable[tuple[str, str, int]], Iterable[tuple[str, str, str]], Iterable[tuple[str, str]]
    ]:
        """The dirty keys, in a stable order; the sets are emptied."""
        out = (
            sorted(self.dirty_popularity),
            sorted(self.dirty_covisitation),
            sorted(self.dirty_history),
        )
        self.dirty_popularity, self.dirty_covisitation, self.dirty_history = set(), set(), set()
        return out
