"""Records the stages send each other on internal topics (JSON, keyed for locality).

``recsys.internal.engagements.v1``  key ``tenant␟user``     an attributed outcome
``recsys.internal.item-updates.v1`` key ``tenant␟surface␟item`` a popularity observation
                                    or one direction of a co-visitation pair
Each carries the ``Stamp`` of the record it came from (see ``streams.dedupe``).

On the topics they travel in *envelopes*: one Kafka record per destination partition
and processed batch, holding a list of messages (at most ``MAX_ENVELOPE``). A message's
position in the stream is then its *virtual offset* ``offset × 2¹⁶ + index``: unique,
increasing along the partition, and the same when the envelope is redelivered — so the
stages' redelivery and origin checks work on it exactly as on a Kafka offset.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streams.attribution import Attributed
from streams.dedupe import Stamp
from streams.keys import join_key

ENGAGEMENTS_TOPIC = "recsys.internal.engagements.v1"
ITEM_UPDATES_TOPIC = "recsys.internal.item-updates.v1"
ENVELOPE_SLOTS = 1 << 16
MAX_ENVELOPE = 4096


@dataclass(frozen=True, slots=True)
class EngagementMsg:
    attributed: Attributed
    stamp: Stamp

    @property
    def key(self) -> str:
        return join_key(self.attributed.tenant, self.attributed.user_id)

    def doc(self) -> dict[str, Any]:
        a = self.attributed
        fields = [a.tenant, a.surface, a.user_id, a.item_id, a.event_type, a.t_ms]
        return {"e": [*fields, a.exposure_known], "o": self.stamp.to_json()}


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

    def doc(self) -> dict[str, Any]:
        fields = [self.tenant, self.surface, self.item_id, self.weight, self.t_ms]
        return {"p": fields, "o": self.stamp.to_json()}


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

    def doc(self) -> dict[str, Any]:
        fields = [self.tenant, self.surface, self.anchor, self.neighbour]
        return {"c": fields, "o": self.stamp.to_json()}


Derived = EngagementMsg | PopularityMsg | PairMsg


def from_doc(doc: dict[str, Any]) -> Derived:
    stamp = Stamp.from_json(doc["o"])
    if "e" in doc:
        t, s, u, i, et, ts, known = doc["e"]
        return EngagementMsg(Attributed(t, s, u, i, et, int(ts), bool(known)), stamp)
    if "p" in doc:
        t, s, i, w, ts = doc["p"]
        return PopularityMsg(t, s, i, float(w), int(ts), stamp)
    t, s, a, b = doc["c"]
    return PairMsg(t, s, a, b, stamp)


def encode_envelope(msgs: Sequence[Derived]) -> bytes:
    if len(msgs) > MAX_ENVELOPE:
        raise ValueError(f"an envelope holds at most {MAX_ENVELOPE} messages")
    return orjson.dumps([m.doc() for m in msgs])


def envelopes(msgs: Sequence[Derived]) -> Iterator[bytes]:
    """``msgs`` in order, as envelopes of at most ``MAX_ENVELOPE`` messages."""
    for start in range(0, len(msgs), MAX_ENVELOPE):
        yield encode_envelope(msgs[start : start + MAX_ENVELOPE])


def decode_envelope(raw: bytes) -> list[Derived]:
    return [from_doc(doc) for doc in orjson.loads(raw)]


def virtual_offset(offset: int, index: int) -> int:
    """The position of the ``index``-th message of the envelope at ``offset``."""
    return offset * ENVELOPE_SLOTS + index
