"""The whole demo loop without HTTP or Kafka: the serving engine over in-memory views (pure).

Each visit is ranked by ``serving.engine.pipeline.rank`` exactly as the handler would
rank the simulator's request (same weights, anchors, exclusions), the user reacts, and
the views learn from the clicks the way the stream workers do, simplified:

- popularity: +1 per click and +3 per conversion on (tenant, surface, item), no decay
  (the stream's default event weights);
- co-visitation: a click pairs once with every item the same user clicked earlier on
  the same surface, +1 in both directions (the stream pairs within a 30-minute
  event-time bucket; a demo run is shorter than that, so one bucket holds it all);
- history: the user's clicks, newest first.

Used by the tests (does the population make B beat A?) and to tune the demo's
parameters without starting anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from app.simulator.arms import ArmPlan
from app.simulator.catalog import Catalog
from app.simulator.population import (
    ClickModel,
    Reaction,
    SessionPlanner,
    User,
    expected_clicks,
    react,
)
from app.simulator.traffic import NO_ARM, Browsing, SimulatorSummary, recommend_body
from serving.engine.model import RankQuery, ViewSet
from serving.engine.pipeline import rank
from serving.engine.weights import resolve_weights
from serving.request import parse_recommend
from serving.views import InMemoryViews, ItemMeta

NOW_MS = 1_767_225_600_000  # 2026-01-01; the views do not decay


def catalog_views(catalog: Catalog, tenant: str) -> InMemoryViews:
    """Empty popularity/co-visitation/history views over the catalog's metadata."""
    views = InMemoryViews()
    for item in catalog.items:
        views.catalog[(tenant, item.item_id)] = ItemMeta(item.item_id, frozenset(item.tags),
                                                         item.price)
    return views


@dataclass
class Learner:
    """The stream's state updates, reduced to counts (see module docstring)."""

    views: InMemoryViews
    tenant: str
    _engaged: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def observe(self, user_id: str, surface: str, reaction: Reaction) -> None:
        pop = self.views.popularity.setdefault((self.tenant, surface), {})
        engaged = self._engaged.setdefault((user_id, surface), [])
        history = self.views.history.setdefault((self.tenant, user_id), [])
        for _, item in reaction.clicks:
            pop[item] = pop.get(item, 0.0) + 1.0
            history.insert(0, (item, NOW_MS))
            if item in engaged:  # a pair counts once per session bucket
                continue
            for other in engaged:
                for a, b in ((item, other), (other, item)):
                    row = self.views.covisitation.setdefault((self.tenant, surface, a), {})
                    row[b] = row.get(b, 0.0) + 1.0
            engaged.append(item)
        for item, _ in reaction.conversions:
            pop[item] = pop.get(item, 0.0) + 3.0


def rank_visit(views: InMemoryViews, tenant: str, body: dict[str, Any],
               user_id: str) -> list[str]:
    """The item ids serving would return for ``body``: parsed by the request contract and
    turned into a ``RankQuery`` the way the recommend handler does."""
    req = parse_recommend(orjson.dumps(body))
    w = req.weights
    weights, _ = resolve_weights(None, "blend", None if w is None else (w.pop, w.cooc, w.emb))
    query = RankQuery(
        tenant=tenant, surface=req.surface, segment=req.segment, k=req.k, now_ms=NOW_MS,
        weights=weights, mode="blend", user_id=user_id, anchors=req.anchors,
        include_ids=req.include_ids, exclude_ids=req.exclude_ids,
    )
    result = rank(query, ViewSet(views, views, views, views))
    return [item.item_id for item in result.items]


@dataclass
class OfflineRun:
    summary: SimulatorSummary
    expected_clicks: dict[str, float]
    """Per arm, the sum over requests of the click model's expected clicks."""


def simulate_offline(
    catalog: Catalog, users: Sequence[User], plan: ArmPlan, model: ClickModel,
    rng: np.random.Generator, *, n_requests: int, k: int = 10, tenant: str = "demo",
    salt: str = "offline-salt", views: InMemoryViews | None = None, learn: bool = True,
    planner: SessionPlanner | None = None, browse_share: float = 0.2,
    cold_clicks: int = 20,
) -> OfflineRun:
    """Run ``n_requests`` visits through the engine; arms assigned as serving would."""
    views = views if views is not None else catalog_views(catalog, tenant)
    learner = Learner(views, tenant) if learn else None
    planner = planner or SessionPlanner(users)
    summary = SimulatorSummary()
    browsing = Browsing(catalog, share=browse_share, cold_clicks=cold_clicks, k=k)
    expected: dict[str, float] = {}
    for _ in range(n_requests):
        visit = planner.next_visit(rng)
        user = users[visit.user]
        variant = plan.predict_variant(user.user_id, salt)
        shelf = browsing.shelf(visit.surface, user, rng)
        if shelf is not None:
            variant = NO_ARM
        body = recommend_body(visit, user.user_id, plan, variant, k, shelf)
        shown = rank_visit(views, tenant, body, user.user_id)
        reaction = react(user, shown, catalog, model, rng)
        summary.sent += 1
        summary.arm(variant).add(len(shown), reaction)
        expected[variant] = expected.get(variant, 0.0) + expected_clicks(
            user, shown, catalog, model)
        browsing.observe(visit.surface, reaction)
        if learner is not None:
            learner.observe(user.user_id, visit.surface, reaction)
        planner.finish(visit, reaction)
    return OfflineRun(summary, expected)
