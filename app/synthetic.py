"""A seeded synthetic event log: exposures, outcomes and a catalog (tests, benches).

Users have a favourite tag; they click items carrying it more often, so co-visitation
has structure. Timestamps increase; outcomes follow their exposure by seconds. A few
outcomes are orphans (no exposure) and a few request_ids repeat, as in real logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from schemas.events import Exposure, ExposureItem, Item, Outcome

TAGS = ("sports", "news", "music", "film", "games", "food")


def iso(ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True)
class SyntheticLog:
    items: list[Item]
    exposures: list[Exposure]
    outcomes: list[Outcome]


def generate(
    *,
    requests: int,
    users: int = 50,
    catalog: int = 200,
    k: int = 10,
    seed: int = 7,
    start_ms: int = 1_767_225_600_000,
    tenants: tuple[str, ...] = ("t1",),
    surfaces: tuple[str, ...] = ("home", "pdp"),
    orphan_rate: float = 0.01,
    duplicate_rate: float = 0.01,
) -> SyntheticLog:
    rng = np.random.default_rng(seed)
    item_tags = [TAGS[i % len(TAGS)] for i in range(catalog)]
    items = [
        Item(f"i{i}", tenant, (item_tags[i], f"brand:b{i % 7}"), True, price=float(1 + i % 50))
        for tenant in tenants
        for i in range(catalog)
    ]
    taste = rng.integers(0, len(TAGS), size=users)
    exposures: list[Exposure] = []
    outcomes: list[Outcome] = []
    t = start_ms
    for r in range(requests):
        t += int(rng.integers(50, 4000))
        user = int(rng.integers(0, users))
        rid = f"req-{seed}-{r}"
        shown = rng.choice(catalog, size=k, replace=False)
        ctx = {
            "tenant": tenants[int(rng.integers(0, len(tenants)))],
            "surface": surfaces[int(rng.integers(0, len(surfaces)))],
        }
        exposures.append(
            Exposure(
                rid,
                f"u{user}",
                iso(t),
                tuple(ExposureItem(f"i{int(i)}", n + 1) for n, i in enumerate(shown)),
                ctx,
                latency_ms=float(rng.integers(5, 80)),
                error=False,
            )
        )
        if rng.random() < duplicate_rate:
            exposures.append(Exposure(rid, f"u{user}", iso(t + 5), (), ctx))
        for rank, i in enumerate(shown, start=1):
            liked = item_tags[int(i)] == TAGS[taste[user]]
            p_click = (0.35 if liked else 0.03) / rank**0.5
            if rng.random() < p_click:
                when = t + int(rng.integers(500, 20_000))
                kind = "conversion" if rng.random() < 0.2 else "click"
                value = float(rng.integers(1, 100)) if kind == "conversion" else None
                outcomes.append(Outcome(rid, f"u{user}", f"i{int(i)}", kind, iso(when), value))
        if rng.random() < orphan_rate:
            outcomes.append(Outcome(f"orphan-{seed}-{r}", f"u{user}", "i0", "click", iso(t + 10)))
    outcomes.sort(key=lambda o: o.timestamp_ms)
    return SyntheticLog(items, exposures, outcomes)
