"""The serving views: compacted topics the stream workers publish and serving replicas read.

A contract between ``streams`` (writer) and ``serving`` (reader), so it lives here.
Values are compact JSON; keys join their parts with the unit separator ``␟`` (0x1f).

``recsys.views.popularity.v1``   key ``tenant␟surface␟partition``
    ``{"h": half_life_ms, "i": [[item_id, value, t_ms], ...]}`` — the partition's top-K
    items of the namespace; ``value`` is the decayed score as of event time ``t_ms``.
    Items are partitioned by (tenant, surface, item), so merging every partition's
    top-K gives the namespace's exact top-K.
``recsys.views.covisitation.v1`` key ``tenant␟surface␟anchor``
    ``{"n": [[item_id, count], ...]}`` — top-N neighbours, count desc, item_id asc.
``recsys.views.history.v1``      key ``tenant␟user_id``
    ``{"r": [[item_id, ts_ms], ...]}`` — recent engaged items, newest first.
The catalog view is ``recsys.items.v1`` itself (compacted, Avro ``item.v1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

POPULARITY_VIEW = "recsys.views.popularity.v1"
COVISITATION_VIEW = "recsys.views.covisitation.v1"
HISTORY_VIEW = "recsys.views.history.v1"
VIEW_TOPICS = (POPULARITY_VIEW, COVISITATION_VIEW, HISTORY_VIEW)
SEP = "\x1f"


def view_key(*parts: str | int) -> bytes:
    return SEP.join(str(p) for p in parts).encode()


def parse_key(key: bytes) -> list[str]:
    return key.decode().split(SEP)


@dataclass(frozen=True, slots=True)
class DecayedEntry:
    item_id: str
    value: float
    t_ms: int


def encode_popularity(half_life_ms: float, entries: list[DecayedEntry]) -> bytes:
    return orjson.dumps({"h": half_life_ms, "i": [[e.item_id, e.value, e.t_ms] for e in entries]})


def decode_popularity(raw: bytes) -> tuple[float, list[DecayedEntry]]:
    doc: dict[str, Any] = orjson.loads(raw)
    return float(doc["h"]), [DecayedEntry(str(i), float(v), int(t)) for i, v, t in doc["i"]]


def encode_neighbours(neighbours: list[tuple[str, int]]) -> bytes:
    return orjson.dumps({"n": [[i, c] for i, c in neighbours]})


def decode_neighbours(raw: bytes) -> list[tuple[str, int]]:
    doc: dict[str, Any] = orjson.loads(raw)
    return [(str(i), int(c)) for i, c in doc["n"]]


def encode_history(recent: list[tuple[str, int]] | tuple[tuple[str, int], ...]) -> bytes:
    return orjson.dumps({"r": [[i, t] for i, t in recent]})


def decode_history(raw: bytes) -> list[tuple[str, int]]:
    doc: dict[str, Any] = orjson.loads(raw)
    return [(str(i), int(t)) for i, t in doc["r"]]
