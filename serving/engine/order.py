"""The final deterministic order (spec §4.5 step 10, §5.7).

Pinned items first in pin order, then score descending, then item_id ascending;
ranks 1..n. The same input always yields the same list: no set or dict iteration
order leaks into the output.
"""

from __future__ import annotations


def final_order(pins: list[str], rest: list[str], scores: dict[str, float]) -> list[str]:
    return list(pins) + sorted(rest, key=lambda i: (-scores[i], i))


def ranked_order(ids: list[str] | set[str], scores: dict[str, float]) -> list[str]:
    """Candidates by score desc, item_id asc (the walk order of the selection)."""
    return sorted(ids, key=lambda i: (-scores[i], i))
