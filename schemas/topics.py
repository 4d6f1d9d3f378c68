"""Kafka topic names of the contracts, and which schema each input topic carries.

Every topic is keyed (``request_id``, or ``item_id`` for items) and its values are Avro with
Confluent wire framing (see ``schemas.codec``). Exposures, outcomes and assignments share a
partition count and key so the live join is local to a partition.
"""

from __future__ import annotations

EXPOSURES = "recsys.exposures.v1"
OUTCOMES = "recsys.outcomes.v1"
ASSIGNMENTS = "recsys.assignments.v1"
ITEMS = "recsys.items.v1"
DEADLETTER = "recsys.deadletter.v1"
JOINED = "recsys.joined.v1"
"""Output of the live join (``joined.v1``): each outcome attributed to its exposure."""
LIVE_VIEW = "recsys.views.live.v1"
"""Compacted: each stream partition's live-join tally (JSON), keyed by partition number."""
RANKLISTS = "recsys.ranklists.v1"
"""Interleaving input; not consumed by the stream worker (``recsys-eval`` reads files)."""

SCHEMA_FOR_TOPIC: dict[str, str] = {
    EXPOSURES: "exposure.v1",
    OUTCOMES: "outcome.v1",
    ASSIGNMENTS: "assignment.v1",
    ITEMS: "item.v1",
}
"""Schema name carried by each input topic."""

TOPIC_FOR_SCHEMA: dict[str, str] = {
    **{schema: topic for topic, schema in SCHEMA_FOR_TOPIC.items()},
    "ranklist.v1": RANKLISTS,
    "joined.v1": JOINED,
}
"""Default topic of each schema (``ranklist.v1`` → ``recsys.ranklists.v1``)."""

INPUT_TOPICS: tuple[str, ...] = (EXPOSURES, OUTCOMES, ASSIGNMENTS, ITEMS)
"""Topics the stream worker decodes (each through the dead-letter stage)."""

COMPACTED_TOPICS: frozenset[str] = frozenset({ITEMS})
"""Topics created with ``cleanup.policy=compact`` (latest record per key wins)."""

ALL_TOPICS: tuple[str, ...] = (*INPUT_TOPICS, DEADLETTER, JOINED)
"""Every topic ``recsys up`` creates."""
