"""Per-case ranking metrics with binary relevance, exactly as the original (spec §3.4).

``recommended`` is the exposure's item ids sorted by rank; ``relevant`` is the set
of item ids with a click or conversion outcome. ``top_k(list, k)`` is the whole
list when k >= len(list). Every metric requires k > 0 (checked by the config).
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set


def top_k(recommended: Sequence[str], k: int) -> Sequence[str]:
    """The first k items, or the whole list when it is shorter."""
    return recommended if k >= len(recommended) else recommended[:k]


def precision(recommended: Sequence[str], relevant: Set[str], k: int) -> float:
    """|topK ∩ rel| / len(topK): the denominator is the list length when shorter than k.

    An empty list scores 0 (original code; a textbook precision@k divides by k).
    """
    top = top_k(recommended, k)
    if not top:
        return 0.0
    return sum(1 for item in top if item in relevant) / len(top)


def recall(recommended: Sequence[str], relevant: Set[str], k: int) -> float:
    """|topK ∩ rel| / |rel|, 0 when nothing is relevant."""
    if not relevant:
        return 0.0
    return sum(1 for item in top_k(recommended, k) if item in relevant) / len(relevant)


def hitrate(recommended: Sequence[str], relevant: Set[str], k: int) -> float:
    """1 if any of the top k items is relevant, else 0."""
    return 1.0 if any(item in relevant for item in top_k(recommended, k)) else 0.0


def average_precision(recommended: Sequence[str], relevant: Set[str], k: int) -> float:
    """AP@k = Σ_{hit positions i} (hits so far / i) / min(|rel|, k); 0 for empty list or rel.

    Source: the original's ``map`` metric (normaliser min(|rel|, k), as in ranx/trec_eval's
    AP@k variant).
    """
    if not recommended or not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for position, item in enumerate(top_k(recommended, k), start=1):
        if item in relevant:
            hits += 1
            total += hits / position
    return total / min(len(relevant), k)


def ndcg(recommended: Sequence[str], relevant: Set[str], k: int) -> float:
    """Binary nDCG@k: DCG = Σ_{hit i} 1/log2(i+1); IDCG = Σ_{i=1..min(|rel|,k)} 1/log2(i+1).

    Järvelin & Kekäläinen (2002) with binary gains; 0 when IDCG is 0.
    """
    dcg = 0.0
    for position, item in enumerate(top_k(recommended, k), start=1):
        if item in relevant:
            dcg += 1.0 / math.log2(position + 1)
    ideal = 0.0
    for position in range(1, min(len(relevant), k) + 1):
        ideal += 1.0 / math.log2(position + 1)
    return dcg / ideal if ideal > 0 else 0.0
