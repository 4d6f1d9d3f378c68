"""Deterministic experiment assignment (spec §4.9). Pure: salt, subject and clock passed in.

- Only a request with ``experiment.id`` and no ``variant`` is assigned, and only when it
  has a subject: user_id, else session_id, else anonymous_id (this order differs from the
  exposure pseudonym's, as in the original).
- ``variant = variants[u64be(HMAC-SHA256(salt, id + ":" + subject)[:8]) mod len(variants)]``.
- With a lifecycle definition the experiment must be enabled, on the request's surface
  (case-insensitive; empty = any), with ``starts_at ≤ now < ends_at``, and the subject
  inside the traffic share: ``u64be(HMAC(salt, "traffic:" + id + ":" + subject)[:8])
  mod 10000 < traffic_percent·100``. Otherwise no variant is assigned.
- An id without a definition is assigned over the default variants (A, B).
- Unequal ``shares`` (tenant config experiments) pick by cumulative share instead:
  ``u64be(HMAC(salt, id + ":" + subject)[:8]) mod 10000`` against the running sum of
  ``share·10000`` over the variants in name order. Equal shares keep the formula above,
  so an even split assigns exactly as the original (and the startup definitions) do.

Assignment logging for SRM: ``AssignmentLog`` remembers the recently logged units
(tenant, experiment, variant, user) in a bounded LRU, so ``assignment.v1`` is produced
once per unit rather than once per request (a heavy user's requests are not
independent draws; counting them inflates the SRM chi-square).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_VARIANTS = ("A", "B")
#: lifecycle states of a tenant-config experiment; only ``running`` assigns variants
STATUSES = ("draft", "running", "paused", "ended")
SHARE_BUCKETS = 10000


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    enabled: bool = True
    traffic_percent: float = 100.0
    surface: str = ""
    starts_at_ms: int | None = None
    ends_at_ms: int | None = None
    # tenant config: any of these surfaces (lower-cased; empty = any) and per-variant
    # shares aligned with ``variants`` (empty = an even split)
    surfaces: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()

    def active(self, surface: str, now_ms: int) -> bool:
        return (
            self.enabled
            and bool(self.variants)
            and (not self.surface or self.surface.lower() == surface.lower())
            and (not self.surfaces or surface.lower() in self.surfaces)
            and (self.starts_at_ms is None or self.starts_at_ms <= now_ms)
            and (self.ends_at_ms is None or now_ms < self.ends_at_ms)
        )


@dataclass(frozen=True, slots=True)
class Arm:
    experiment_id: str
    variant: str
    assigned_by_server: bool


def _u64(salt: str, message: str) -> int:
    digest = hmac.new(salt.encode(), message.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def bucket_variant(experiment_id: str, subject: str, salt: str,
                   variants: tuple[str, ...]) -> str:
    return variants[_u64(salt, f"{experiment_id}:{subject}") % len(variants)]


def share_variant(experiment_id: str, subject: str, salt: str,
                  variants: tuple[str, ...], shares: tuple[float, ...]) -> str:
    """The variant by share; an even split (or no shares) is ``bucket_variant``."""
    if not shares or max(shares) - min(shares) <= 1e-12:
        return bucket_variant(experiment_id, subject, salt, variants)
    point = _u64(salt, f"{experiment_id}:{subject}") % SHARE_BUCKETS
    edge = 0.0
    for variant, share in zip(variants, shares, strict=True):
        edge += share * SHARE_BUCKETS
        if point < edge:
            return variant
    return variants[-1]  # the shares' rounding left the last bucket(s) uncovered


def in_traffic(experiment_id: str, subject: str, salt: str, percent: float) -> bool:
    return _u64(salt, f"traffic:{experiment_id}:{subject}") % 10000 < percent * 100


def assignment_subject(user_id: str | None, session_id: str | None,
                       anonymous_id: str | None) -> str | None:
    return user_id or session_id or anonymous_id


def assign(
    experiment_id: str | None,
    variant: str | None,
    subject: str | None,
    surface: str,
    now_ms: int,
    salt: str,
    experiments: Mapping[str, Experiment],
    default_variants: tuple[str, ...] = DEFAULT_VARIANTS,
) -> Arm | None:
    """The request's arm: the client's own variant, the server's assignment, or None."""
    if not experiment_id:
        return None
    if variant:
        return Arm(experiment_id, variant, assigned_by_server=False)
    if not subject or not salt:
        return None
    spec = experiments.get(experiment_id)
    if spec is None:
        spec = Experiment(experiment_id, default_variants)
    elif not spec.active(surface, now_ms) or not in_traffic(
        experiment_id, subject, salt, spec.traffic_percent
    ):
        return None
    variant = share_variant(experiment_id, subject, salt, spec.variants, spec.shares)
    return Arm(experiment_id, variant, True)


class AssignmentLog:
    """The units whose assignment was logged recently: a bounded LRU of keys.

    ``first(key)`` is True when the key was not among the ``capacity`` most recently
    seen ones (it is then remembered); a hit refreshes the key. Capacity 0 remembers
    nothing: every request is logged. Single event loop, no locking.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be ≥ 0, got {capacity}")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first(self, key: tuple[str, ...]) -> bool:
        if self.capacity == 0:
            return True
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: tuple[str, ...]) -> None:
        """Undo ``first`` (the record was dropped, so the next request logs it again)."""
        self._seen.pop(key, None)
