"""A tenant's available catalog items, newest first, for the catalog fallback.

Order: ``created_at`` descending, undated items last, then item_id ascending (the order
of ``serving.views.CatalogListing.newest``). A request must not sort the catalog, so the
order is kept between requests: it is sorted once, on the first read, and from then on
every item update moves one key (binary search plus a list shift). A burst of more than
``rebuild_after`` updates between two reads (a catalog being replayed) drops the order
instead, so the next read sorts once rather than the burst shifting the list per record.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from serving.views import ItemMeta

#: (undated, -created_at_ms, item_id): ascending order is the newest-first listing
NewestKey = tuple[bool, int, str]


def newest_key(meta: ItemMeta) -> NewestKey:
    created = meta.created_at_ms
    return (created is None, -(created or 0), meta.item_id)


class NewestOrder:
    """One tenant's available items in newest-first order (see the module docstring)."""

    __slots__ = ("_changes", "_keys", "_order", "rebuild_after")

    def __init__(self, rebuild_after: int = 1024) -> None:
        self.rebuild_after = rebuild_after
        self._keys: dict[str, NewestKey] = {}  # available item → its key (the truth)
        self._order: list[NewestKey] | None = None  # sorted keys; None until needed again
        self._changes = 0  # updates applied to the order since the last read

    def __len__(self) -> int:
        return len(self._keys)

    def put(self, meta: ItemMeta) -> None:
        """Record the item's latest metadata (an unavailable item leaves the order)."""
        self._move(meta.item_id, newest_key(meta) if meta.available else None)

    def drop(self, item_id: str) -> None:
        """The item left the catalog."""
        self._move(item_id, None)

    def newest(self, n: int) -> list[str]:
        """Up to ``n`` item ids, newest first."""
        if self._order is None:
            self._order = sorted(self._keys.values())
        self._changes = 0
        return [key[2] for key in self._order[:max(n, 0)]]

    def _move(self, item_id: str, new: NewestKey | None) -> None:
        old = self._keys.pop(item_id, None)
        if new is not None:
            self._keys[item_id] = new
        order = self._order
        if old == new or order is None:
            return
        self._changes += 1
        if self._changes > self.rebuild_after:
            self._order = None
            return
        if old is not None:
            at = bisect_left(order, old)
            if at < len(order) and order[at] == old:
                del order[at]
        if new is not None:
            insort(order, new)
