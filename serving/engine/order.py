"""The final deterministic order (spec §4.5 step 10, §5.7).

Pinned items first in pin order, then score descending, then item_id ascending;
ranks 1..n. The same input always yields the same list: no set or dict iteration
order leaks into the output.
"""

from __future__ import annotations

from collections.abc import Iterable


def final_order(pins: list[str], rest: list[str], scores: dict[str, float]) -> list[str]:
    return list(pins) + ranked_order(rest, scores)


def ranked_order(ids: Iterable[str], scores: dict[str, float]) -> list[str]:
    """Candidates by score desc, item_id asc (the walk order of the selection).

    Two stable sorts with C-level keys (item_id asc, then score desc: ``reverse`` keeps
    equal scores in item_id order) give the order of the key ``(-score, item_id)``
    without a Python call per item. A NaN score would make the comparisons inconsistent,
    so then the tuple key decides, as it always did.
    """
    out = sorted(ids)
    values = list(map(scores.__getitem__, out))
    total = sum(values)
    if total != total:  # a NaN (or inf − inf) among the scores
        return sorted(out, key=lambda i: (-scores[i], i))
    out.sort(key=scores.__getitem__, reverse=True)
    return out
