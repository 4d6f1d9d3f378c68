"""What the simulated clients send and what the simulator counts (pure).

``recommend_body`` is the ``POST /v1/recommend`` body of one visit; ``ArmCounters`` and
``SimulatorSummary`` are the simulator's own view of the experiment (what it was served
and what its users did), independent of the live join.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.simulator.arms import ArmPlan
from app.simulator.catalog import Catalog, category_tag
from app.simulator.population import Reaction, User, Visit

NO_ARM = "none"
"""Counter key of responses without ``meta.experiment`` (browsing requests)."""

BROWSE_SEGMENT = "browse"


@dataclass(frozen=True, slots=True)
class Shelf:
    """A category shelf the user browses: ``item_ids`` of one ``category`` tag."""

    tag: str
    item_ids: tuple[str, ...]


class Browsing:
    """Organic discovery, so the loop can learn beyond what it already shows.

    A recommender fed only by its own clicks never leaves the handful of items it
    showed first (an empty namespace even serves nothing at all). Real users also
    browse; here a share of visits (and every visit to a surface on which fewer than
    ``cold_clicks`` distinct items were clicked yet) is a *browse* request: outside the
    experiment, in segment ``browse``, constrained to one category the user likes
    (drawn from their hidden taste) with ``k`` random items of it as
    ``candidates.include_ids``. Its clicks feed popularity, co-visitation and history
    like any other, so co-visitation learns the population's tastes.
    """

    def __init__(self, catalog: Catalog, *, share: float, cold_clicks: int, k: int) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError("browse share must be in [0, 1]")
        self.catalog = catalog
        self.share = share
        self.cold_clicks = cold_clicks
        self.k = k
        self._clicked: dict[str, set[str]] = {}

    def cold(self, surface: str) -> bool:
        return len(self._clicked.get(surface, ())) < self.cold_clicks

    def shelf(self, surface: str, user: User, rng: np.random.Generator) -> Shelf | None:
        """The shelf of this visit, or ``None`` for a recommendation in the experiment."""
        if not self.cold(surface) and rng.random() >= self.share:
            return None
        category = int(rng.choice(self.catalog.n_categories, p=user.category_taste))
        members = self.catalog.members(category)
        if not members:
            return None
        picks = rng.choice(len(members), size=min(self.k, len(members)), replace=False)
        return Shelf(category_tag(category), tuple(members[int(i)] for i in sorted(picks)))

    def observe(self, surface: str, reaction: Reaction) -> None:
        self._clicked.setdefault(surface, set()).update(item for _, item in reaction.clicks)


def recommend_body(visit: Visit, user_id: str, plan: ArmPlan, predicted_variant: str,
                   k: int, shelf: Shelf | None = None) -> dict[str, Any]:
    """The request of one visit: the server assigns the arm, the arm's weights ride along
    (see ``arms``); on ``pdp`` the anchor is the last clicked item, which is not shown
    again. With a ``shelf`` it is a browse request instead (see ``Browsing``). Every
    field that would otherwise default is set, so responses carry no ``DEFAULT_APPLIED``
    warnings."""
    body: dict[str, Any] = {
        "surface": visit.surface,
        "segment": "default",
        "k": k,
        "user": {"user_id": user_id, "session_id": visit.session_id},
        "options": {"include_reasons": False},
    }
    candidates: dict[str, list[str]] = {}
    if shelf is not None:
        body["segment"] = BROWSE_SEGMENT
        body["weights"] = plan.control.weights_json()
        body["constraints"] = {"required_tags": [shelf.tag]}
        candidates["include_ids"] = [i for i in shelf.item_ids if i != visit.anchor]
    else:
        body["weights"] = plan.request_weights(predicted_variant)
        body["experiment"] = {"id": plan.experiment_id}
    if visit.anchor is not None:
        body["anchors"] = {"item_ids": [visit.anchor], "max_anchors": 1}
        candidates["exclude_ids"] = [visit.anchor]
    if candidates:
        body["candidates"] = candidates
    return body


@dataclass(slots=True)
class ArmCounters:
    requests: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0
    empty: int = 0

    def add(self, shown: int, reaction: Reaction) -> None:
        self.requests += 1
        self.impressions += shown
        self.empty += shown == 0
        self.clicks += len(reaction.clicks)
        self.conversions += len(reaction.conversions)
        self.revenue += sum(value for _, value in reaction.conversions)

    @property
    def ctr(self) -> float:
        """Clicks per request (a request with two clicks counts twice)."""
        return self.clicks / self.requests if self.requests else 0.0

    @property
    def click_through(self) -> float:
        """Clicks per impression (shown item)."""
        return self.clicks / self.impressions if self.impressions else 0.0


@dataclass(slots=True)
class SimulatorSummary:
    arms: dict[str, ArmCounters] = field(default_factory=dict)
    sent: int = 0
    """Requests sent (answered or not)."""
    failed: int = 0
    """Requests without a usable answer (transport errors, 4xx/5xx other than 429)."""
    rate_limited: int = 0
    variant_mismatches: int = 0
    """Responses whose variant differs from the one the simulator predicted."""
    outcomes: int = 0
    """Outcome events handed to the producer."""
    items: int = 0
    """Catalog events handed to the producer."""
    elapsed_s: float = 0.0

    def arm(self, variant: str) -> ArmCounters:
        return self.arms.setdefault(variant, ArmCounters())

    @property
    def answered(self) -> int:
        return sum(c.requests for c in self.arms.values())

    def line(self) -> str:
        """One line for a terminal: rate, then clicks per request per arm."""
        rate = self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0
        arms = " ".join(
            f"{v}: {c.requests} req ctr {c.ctr:.3f} conv {c.conversions} rev {c.revenue:.0f}"
            for v, c in sorted(self.arms.items()))
        extra = "".join(
            f" {name} {value}" for name, value in (("failed", self.failed),
                                                   ("429", self.rate_limited),
                                                   ("mismatch", self.variant_mismatches))
            if value)
        return (f"sim {self.elapsed_s:.0f}s: {self.sent} req ({rate:.1f}/s), "
                f"{self.outcomes} outcomes | {arms or 'no answers yet'}{extra}")
