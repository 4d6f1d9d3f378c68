"""Records the stages send each other on internal topics (JSON, keyed for locality).

``recsys.internal.engagements.v1``  key ``tenant␟user``     an attributed outcome
``recsys.internal.item-updates.v1`` key ``tenant␟surface␟item`` a popularity observation
                                    or one direction of a co-visitation pair
Each carries the ``Stamp`` of the record it came from (see ``streams.dedupe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams.attribution import Attributed
from streams.dedupe import Stamp
from streams.keys import join_key

ENGAGEMENTS_TOPIC = "recsys.internal.engagements.v1"
ITEM_UPDATES_TOPIC = "recsys.internal.item-updates.v1"


@dataclass(frozen=True, slots=True)
class EngagementMsg:
    attributed: Attributed
    stamp: Stamp

    @property
    def key(self) -> str:
        return join_key(self.attributed.tenant, self.attributed.user_id)

    def encode(self) -> bytes:
        a = self.attributed
        return orjson.dumps(
            {
                "e": [
                    a.tenant,
                    a.surface,
                    a.user_id,
                    a.item_id,
                    a.event_type,
                    a.t_ms,
                    a.exposure_known,
                ],
                "o": self.stamp.to_json(),
            }
        )


@dataclass(frozen=True, slots=True)
class PopularityMsg:
    tenant: str
    surface: str
    item_id: str
    weight: float
    t_ms: int
    stamp: Stamp

    @property
    def key(self) -> str:
        return join_key(self.tenant, self.surface, self.item_id)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "p": [self.tenant, self.surface, self.item_id, self.weight, self.t_ms],
                "o": self.stamp.to_json(),
            }
        )


@dataclass(frozen=True, slots=True)
class PairMsg:
    """One direction of a co-visitation pair: ``anchor`` gained ``neighbour``."""

    tenant: str
    surface: str
    anchor: str
    neighbour: str
    stamp: Stamp

    @property
    def key(self) -> str:
        return join_key(self.tenant, self.surface, self.anchor)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "c": [self.tenant, self.surface, self.anchor, self.neighbour],
                "o": self.stamp.to_json(),
            }
        )


Derived = EngagementMsg | PopularityMsg | PairMsg


def decode(raw: bytes) -> Derived:
    doc: dict[str, Any] = orjson.loads(raw)
    stamp = Stamp.from_json(doc["o"])
    if "e" in doc:
        t, s, u, i, et, ts, known = doc["e"]
        return EngagementMsg(Attributed(t, s, u, i, et, int(ts), bool(known)), stamp)
    if "p" in doc:
        t, s, i, w, ts = doc["p"]
        return PopularityMsg(t, s, i, float(w), int(ts), stamp)
    t, s, a, b = doc["c"]
    return PairMsg(t, s, a, b, stamp)
