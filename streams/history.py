"""User history and session pairing: the co-visitation input, as a pure reducer.

Per (tenant, user) the state holds

* ``recent``: the last N distinct engaged items with their latest event time,
  newest first (N = ``history_n``, default 50) — what serving reads as live history;
* ``sessions``: for each recent session, the items engaged in it, per surface.

A session is a user's 30-minute event-time bucket (``ts // session_ms``). When a
user engages with item b in a session, b is paired with every other item already
engaged in that session on the same surface, and nothing happens if b was already
there — so each unordered pair counts once per session. Because a session is a
fixed bucket (not a gap-based run) the resulting counts do not depend on the
order events arrive in, which is what lets the stream equal its batch twin when
a user's events reach the worker through several partitions. Sessions more than
``lateness_ms`` behind the user's newest engagement are forgotten; an engagement
that late still enters history (and popularity) but pairs with nothing.

Re-applying an engagement already in the state changes nothing and yields no
pairs, which makes redelivery after a crash harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MINUTE_MS = 60_000


@dataclass(frozen=True)
class HistoryConfig:
    history_n: int = 50
    session_ms: int = 30 * MINUTE_MS
    lateness_ms: int = 24 * 60 * MINUTE_MS
    max_session_items: int = 50


@dataclass(frozen=True, slots=True)
class Engagement:
    tenant: str
    surface: str
    user_id: str
    item_id: str
    t_ms: int


@dataclass(frozen=True)
class UserState:
    recent: tuple[tuple[str, int], ...] = ()
    """(item_id, latest ts_ms), newest first, at most ``history_n``."""
    sessions: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    """(surface, session bucket) → items engaged in it, in arrival order."""

    def to_json(self) -> dict[str, list[list[Any]]]:
        return {
            "r": [[i, t] for i, t in self.recent],
            "s": [[s, b, list(items)] for (s, b), items in self.sessions.items()],
        }

    @classmethod
    def from_json(cls, doc: UserState | dict[str, list[list[Any]]] | None) -> UserState:
        """The state of a users-table value: the state itself (as the user stage keeps
        it in its store) or its JSON (as recovered from the changelog)."""
        if isinstance(doc, UserState):
            return doc
        if not doc:
            return cls()
        recent = tuple((str(i), int(t)) for i, t in doc["r"])
        sessions = {(str(s), int(b)): tuple(map(str, items)) for s, b, items in doc["s"]}
        return cls(recent, sessions)


def _merge_recent(
    recent: tuple[tuple[str, int], ...], item_id: str, t_ms: int, n: int
) -> tuple[tuple[str, int], ...]:
    latest = dict(recent)
    if latest.get(item_id, -1) >= t_ms:
        return recent
    latest[item_id] = t_ms
    ordered = sorted(latest.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(ordered[:n])


def apply(
    state: UserState, eng: Engagement, config: HistoryConfig
) -> tuple[UserState, list[tuple[str, str]]]:
    """Fold one engagement; return the new state and the new unordered pairs (a < b)."""
    recent = _merge_recent(state.recent, eng.item_id, eng.t_ms, config.history_n)
    newest = max(eng.t_ms, recent[0][1] if recent else eng.t_ms)
    horizon = (newest - config.lateness_ms) // config.session_ms
    bucket = eng.t_ms // config.session_ms
    sessions = {k: v for k, v in state.sessions.items() if k[1] >= horizon}
    pairs: list[tuple[str, str]] = []
    if bucket >= horizon:
        key = (eng.surface, bucket)
        items = sessions.get(key, ())
        if eng.item_id not in items and len(items) < config.max_session_items:
            pairs = [(min(a, eng.item_id), max(a, eng.item_id)) for a in items]
            sessions[key] = (*items, eng.item_id)
    return UserState(recent, sessions), pairs


def batch_pairs(
    engagements: Iterable[Engagement], config: HistoryConfig
) -> tuple[dict[tuple[str, str], UserState], list[tuple[str, str, str, str]]]:
    """Batch twin: users' final states and every (tenant, surface, a, b) pair emitted."""
    users: dict[tuple[str, str], UserState] = {}
    out: list[tuple[str, str, str, str]] = []
    for eng in engagements:
        key = (eng.tenant, eng.user_id)
        users[key], pairs = apply(users.get(key, UserState()), eng, config)
        out += [(eng.tenant, eng.surface, a, b) for a, b in pairs]
    return users, out
