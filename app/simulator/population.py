"""Simulated users: hidden tastes, a position-biased click model, sessions (pure).

Click model (position-based model, Craswell et al. 2008; examination as in DCG):

    P(click | user u, item i at rank r) = examination(r) · attractiveness(u, i)
    examination(r)      = 1 / log2(r + 1)                      (1 at rank 1, 0.63 at 2)
    attractiveness(u, i) = floor + (ceiling − floor) · match(u, i)
    match(u, i)          = (1 − brand_share) · cat_u[c_i] / max cat_u
                           + brand_share · brand_u[b_i] / max brand_u     ∈ [0, 1]

Conversion (only after a click), revenue = price:

    P(conversion | click) = conversion_base · match(u, i) · exp(−s_u · price_i / p_ref)

with ``s_u`` the user's price sensitivity and ``p_ref`` the catalog's median price.

Tastes: ``cat_u ~ Dirichlet(concentration)`` over categories (small concentration → a
few favourite categories); a brand's weight is its home category's weight times
``Gamma(1, 1)`` noise, so brand and category tastes agree. Users come back in sessions
(``SessionPlanner``): a session is a run of requests by one user; the first is on
``home``, later ones on ``pdp`` anchored on the last item clicked in the session.
All randomness goes through the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.simulator.catalog import Catalog


def examination(rank: int) -> float:
    """Probability that a user looks at rank ``rank`` (1-based): ``1/log2(rank+1)``."""
    if rank < 1:
        raise ValueError(f"rank must be ≥ 1, got {rank}")
    return 1.0 / math.log2(rank + 1)


@dataclass(frozen=True, slots=True)
class ClickModel:
    floor: float = 0.02
    """Attractiveness of an item that matches none of the user's tastes."""
    ceiling: float = 0.5
    """Attractiveness of an item in the user's favourite category and brand."""
    brand_share: float = 0.25
    conversion_base: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor <= self.ceiling <= 1.0:
            raise ValueError("need 0 ≤ floor ≤ ceiling ≤ 1")
        if not 0.0 <= self.brand_share <= 1.0 or not 0.0 <= self.conversion_base <= 1.0:
            raise ValueError("brand_share and conversion_base must be in [0, 1]")

    def attractiveness(self, match: float) -> float:
        return self.floor + (self.ceiling - self.floor) * match

    def click_probability(self, match: float, rank: int) -> float:
        return examination(rank) * self.attractiveness(match)

    def conversion_probability(self, match: float, price: float, sensitivity: float,
                               reference_price: float) -> float:
        return self.conversion_base * match * math.exp(-sensitivity * price / reference_price)


@dataclass(frozen=True)
class User:
    user_id: str
    category_taste: np.ndarray = field(compare=False, repr=False)
    """Weights over categories, summing to 1."""
    brand_taste: np.ndarray = field(compare=False, repr=False)
    """Weights over brands, summing to 1."""
    price_sensitivity: float = 0.5
    activity: float = 1.0
    """Relative rate at which the user starts sessions."""

    def matches(self, catalog: Catalog, indices: Sequence[int],
                brand_share: float) -> list[float]:
        """``match(u, i)`` of the module docstring for the catalog items at ``indices``."""
        idx = np.asarray(indices, dtype=np.int64)
        cat = self.category_taste[catalog.categories[idx]] / self.category_taste.max()
        brand = self.brand_taste[catalog.brands[idx]] / self.brand_taste.max()
        return [float(v) for v in (1.0 - brand_share) * cat + brand_share * brand]

    @property
    def favourite_category(self) -> int:
        return int(np.argmax(self.category_taste))


def make_population(
    rng: np.random.Generator, catalog: Catalog, *, n_users: int = 2000,
    concentration: float = 0.3,
) -> tuple[User, ...]:
    """``n_users`` users with Dirichlet tastes, log-normal price sensitivity and activity."""
    if n_users < 1:
        raise ValueError("n_users must be ≥ 1")
    home = np.asarray(catalog.brand_category)
    users = []
    for n in range(n_users):
        cat = rng.dirichlet(np.full(catalog.n_categories, concentration))
        cat = np.maximum(cat, 1e-12)  # Dirichlet with small α can underflow to 0
        brand = cat[home] * rng.gamma(1.0, 1.0, size=catalog.n_brands)
        brand = np.maximum(brand, 1e-12)
        users.append(User(
            f"user-{n:05d}", cat / cat.sum(), brand / brand.sum(),
            price_sensitivity=float(rng.lognormal(math.log(0.5), 0.5)),
            activity=float(rng.lognormal(0.0, 1.0)),
        ))
    return tuple(users)


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a user did with one served list: clicks (in rank order) and conversions."""

    clicks: tuple[tuple[int, str], ...] = ()
    """(rank, item_id) of every clicked item."""
    conversions: tuple[tuple[str, float], ...] = ()
    """(item_id, revenue) of every converted item."""

    @property
    def last_clicked(self) -> str | None:
        return self.clicks[-1][1] if self.clicks else None


def react(user: User, item_ids: Sequence[str], catalog: Catalog, model: ClickModel,
          rng: np.random.Generator) -> Reaction:
    """Sample clicks and conversions on a ranked list (ranks 1..n); unknown ids are ignored.

    Always draws ``2·len(item_ids)`` uniforms, so the stream of random numbers does not
    depend on what was clicked.
    """
    draws = rng.random((2, len(item_ids)))
    known = [(r, catalog.by_id[i]) for r, i in enumerate(item_ids, start=1) if i in catalog.by_id]
    matches = user.matches(catalog, [idx for _, idx in known], model.brand_share)
    reference = catalog.reference_price
    clicks: list[tuple[int, str]] = []
    conversions: list[tuple[str, float]] = []
    for (rank, idx), match in zip(known, matches, strict=True):
        item = catalog.items[idx]
        if draws[0, rank - 1] >= model.click_probability(match, rank):
            continue
        clicks.append((rank, item.item_id))
        p_conv = model.conversion_probability(match, item.price, user.price_sensitivity,
                                              reference)
        if draws[1, rank - 1] < p_conv:
            conversions.append((item.item_id, item.price))
    return Reaction(tuple(clicks), tuple(conversions))


def expected_clicks(user: User, item_ids: Sequence[str], catalog: Catalog,
                    model: ClickModel) -> float:
    """``Σ_r examination(r) · attractiveness(u, item_r)``: the mean of ``len(clicks)``."""
    known = [(r, catalog.by_id[i]) for r, i in enumerate(item_ids, start=1) if i in catalog.by_id]
    matches = user.matches(catalog, [idx for _, idx in known], model.brand_share)
    return sum(model.click_probability(m, r) for (r, _), m in zip(known, matches, strict=True))


@dataclass(frozen=True, slots=True)
class Visit:
    """One request a user is about to make."""

    user: int
    """Index into the population."""
    session_id: str
    surface: str
    anchor: str | None
    step: int
    """0 for the first request of the session."""


@dataclass(slots=True)
class _Session:
    session_id: str
    remaining: int
    step: int = 0
    last_clicked: str | None = None


class SessionPlanner:
    """Who requests next: mostly a user continuing an open session, else a (returning)
    user drawn by activity who opens a new one. Session length ~ Geometric(1/mean_length).

    Sessions with a request in flight are not continued (a user waits for the page).
    """

    def __init__(self, users: Sequence[User], *, mean_session_length: float = 6.0,
                 continue_share: float = 0.7) -> None:
        if mean_session_length < 1:
            raise ValueError("mean_session_length must be ≥ 1")
        if not 0.0 <= continue_share <= 1.0:
            raise ValueError("continue_share must be in [0, 1]")
        self.users = users
        self.mean_session_length = mean_session_length
        self.continue_share = continue_share
        activity = np.array([u.activity for u in users], dtype=float)
        self._p = activity / activity.sum()
        self._open: dict[int, _Session] = {}
        self._busy: set[int] = set()
        self._sessions_started = [0] * len(users)

    @property
    def sessions_started(self) -> int:
        return sum(self._sessions_started)

    def next_visit(self, rng: np.random.Generator) -> Visit:
        idle = [u for u in self._open if u not in self._busy]
        if idle and rng.random() < self.continue_share:
            user = idle[int(rng.integers(len(idle)))]
        else:
            user = int(rng.choice(len(self.users), p=self._p))
            for _ in range(20):  # a busy user is mid-request: draw someone else
                if user not in self._busy:
                    break
                user = int(rng.choice(len(self.users), p=self._p))
        session = self._open.get(user)
        if session is None:
            self._sessions_started[user] += 1
            n = self._sessions_started[user]
            length = int(rng.geometric(1.0 / self.mean_session_length))
            session = _Session(f"{self.users[user].user_id}-s{n}", length)
            self._open[user] = session
        self._busy.add(user)
        surface = "pdp" if session.last_clicked else "home"
        return Visit(user, session.session_id, surface, session.last_clicked, session.step)

    def finish(self, visit: Visit, reaction: Reaction | None) -> None:
        """Record the outcome of ``visit`` (``None``: the request failed)."""
        self._busy.discard(visit.user)
        session = self._open.get(visit.user)
        if session is None or session.session_id != visit.session_id:
            return
        session.step += 1
        session.remaining -= 1
        if reaction is not None and reaction.last_clicked is not None:
            session.last_clicked = reaction.last_clicked
        if session.remaining <= 0:
            del self._open[visit.user]
