"""Admission control: per-tenant token buckets (429) and a max-in-flight gate (503).

Token bucket: ``capacity`` tokens, refilled at ``refill_per_s``; a request takes one.
When empty, ``Retry-After`` is the whole seconds until one token is back (≥ 1). The
clock is passed in, so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from schemas.errors import ServingError


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, capacity: float, refill_per_s: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.refill = refill_per_s
        self.clock = clock
        self.buckets: dict[Hashable, _Bucket] = {}

    def take(self, key: Hashable) -> float:
        """0 when admitted, else the seconds to wait for the next token."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.refill)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.refill if self.refill > 0 else math.inf

    def check(self, key: Hashable) -> None:
        wait = self.take(key)
        if wait > 0:
            retry = max(1, math.ceil(wait)) if math.isfinite(wait) else 60
            raise RateLimited(retry)


class RateLimited(ServingError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("rate limit exceeded for this tenant", status=429,
                         code="RECSYS_RATE_LIMITED")
        self.retry_after_s = retry_after_s


class Overloaded(ServingError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too many requests in flight; retry later", status=503,
                         code="RECSYS_OVERLOADED")
        self.retry_after_s = retry_after_s


class InFlightGate:
    """At most ``limit`` requests at once (0 = no limit); excess is rejected at once."""

    def __init__(self, limit: int, retry_after_s: int = 1) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.inflight = 0
        self.rejected = 0

    def enter(self) -> None:
        if self.limit and self.inflight >= self.limit:
            self.rejected += 1
            raise Overloaded(self.retry_after_s)
        self.inflight += 1

    def leave(self) -> None:
        self.inflight -= 1
