"""Shown and engaged counts: the spine's two tables, as pure reducers with a batch twin.

State is kept per *source partition* so that every table key is written only by
events of one input partition. Faust writes a table update to the changelog
partition of the event being processed, so this keeps each key in exactly one
changelog partition, and it lets each key carry the highest source offset applied
to it: an event re-delivered after a crash (at-least-once) is recognised and skipped,
so counts are never doubled. Readers sum a key over partitions.

    shown[(partition, tenant, surface, item)]  = times the item appeared in an exposure
    engaged[(partition, item)]                 = outcomes (click or conversion) on the item
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.events import Exposure, Outcome
from streams.keys import join_key, split_key
from streams.namespace import surface_of, tenant_of


@dataclass(frozen=True, slots=True)
class Tally:
    """A count and the highest source offset already folded into it."""

    count: int
    last_offset: int

    def to_json(self) -> list[int]:
        return [self.count, self.last_offset]

    @classmethod
    def from_json(cls, raw: list[int] | None) -> Tally | None:
        return None if raw is None else cls(int(raw[0]), int(raw[1]))


def apply_tally(prev: Tally | None, delta: int, offset: int) -> Tally | None:
    """Fold ``delta`` from the record at ``offset``; ``None`` when it was already applied."""
    if prev is None:
        return Tally(delta, offset)
    if offset <= prev.last_offset:
        return None
    return Tally(prev.count + delta, offset)


def fold_json(raw: list[int] | None, delta: int, offset: int) -> list[int] | None:
    """``apply_tally`` on a table value's JSON, without building ``Tally`` objects (the
    request stage folds ~10 keys per exposure); ``None`` when already applied."""
    if raw is None:
        return [delta, offset]
    if offset <= raw[1]:
        return None
    return [int(raw[0]) + delta, offset]


def shown_key(partition: int, tenant: str, surface: str, item_id: str) -> str:
    return join_key(str(partition), tenant, surface, item_id)


def engaged_key(partition: int, item_id: str) -> str:
    return join_key(str(partition), item_id)


def shown_deltas(partition: int, exposure: Exposure) -> Counter[str]:
    """Table keys an exposure increments, and by how much."""
    tenant, surface = tenant_of(exposure.context), surface_of(exposure.context)
    return Counter(shown_key(partition, tenant, surface, it.item_id) for it in exposure.items)


def engaged_deltas(partition: int, outcome: Outcome) -> Counter[str]:
    return Counter({engaged_key(partition, outcome.item_id): 1})


def merge_counts(
    shown: Iterable[tuple[str, int]], engaged: Iterable[tuple[str, int]], tenant: str, surface: str
) -> dict[str, tuple[int, int]]:
    """Per item shown in (tenant, surface): (shown, engaged), summed over partitions."""
    shown_by_item: Counter[str] = Counter()
    for key, count in shown:
        _, t, s, item = split_key(key)
        if t == tenant and s == surface:
            shown_by_item[item] += count
    engaged_by_item: Counter[str] = Counter()
    for key, count in engaged:
        engaged_by_item[split_key(key)[1]] += count
    return {i: (shown_by_item[i], engaged_by_item[i]) for i in shown_by_item}


def batch_counts(
    records: Iterable[tuple[int, int, Exposure | Outcome]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Batch twin: fold (partition, offset, event) records into the two tables' counts."""
    shown: dict[str, Tally] = {}
    engaged: dict[str, Tally] = {}
    for partition, offset, event in records:
        table, deltas = (
            (shown, shown_deltas(partition, event))
            if isinstance(event, Exposure)
            else (engaged, engaged_deltas(partition, event))
        )
        for key, delta in deltas.items():
            nxt = apply_tally(table.get(key), delta, offset)
            if nxt is not None:
                table[key] = nxt
    return ({k: v.count for k, v in shown.items()}, {k: v.count for k, v in engaged.items()})
