"""The final deterministic order (spec §4.5 step 10, §5.7).

Pinned items first in pin order, then score descending, then item_id ascending;
ranks 1..n. The same input always yields the same list: no set or dict iteration
order leaks into the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def all_comparable(values: Iterable[float]) -> bool:
    """No NaN among the scores (the sum is NaN when one is, or for inf − inf: then the
    callers take their slow, always-correct path)."""
    total = sum(values)
    return total == total


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
    if not all_comparable(map(scores.__getitem__, out)):
        return sorted(out, key=lambda i: (-scores[i], i))
    out.sort(key=scores.__getitem__, reverse=True)
    return out


def top_ranked(ids: Sequence[str], scores: dict[str, float], n: int) -> list[str]:
    """The first ``n`` of ``ranked_order(ids, scores)``, sorting only what can be in them:
    one C-keyed sort by score, then the full order over the first ``n`` and every item
    tied with the n-th (ties are contiguous after the score sort)."""
    if n <= 0:
        return []
    if n >= len(ids):
        return ranked_order(ids, scores)
    if not all_comparable(scores.values()):
        return ranked_order(ids, scores)[:n]
    by_score = sorted(ids, key=scores.__getitem__, reverse=True)
    edge = scores[by_score[n - 1]]
    end = n
    while end < len(by_score) and scores[by_score[end]] == edge:
        end += 1
    return ranked_order(by_score[:end], scores)[:n]
