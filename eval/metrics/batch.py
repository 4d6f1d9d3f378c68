"""Vectorised twins of the per-case ranking metrics, bit-identical to ``ranking``.

The scalar functions in ``eval.metrics.ranking`` are the definitions; these compute
the same per-case values for all cases at once from a ``HitMatrix`` (which
positions of each list hold a relevant item). Bit-identical, not just close: every
division is the same int/int or float/int division, the discounts come from
``math.log2`` as in the scalar code, and row sums use ``cumsum`` (strict
left-to-right order, as the scalar loops) rather than numpy's pairwise ``sum``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HitMatrix:
    """Per case: relevance flags of the first ``width`` positions, list length, |rel|."""

    hits: npt.NDArray[np.uint8]  # shape (cases, width); 0 past the end of a list
    lengths: npt.NDArray[np.int64]
    relevant: npt.NDArray[np.int64]

    @classmethod
    def build(
        cls, flags: bytearray, lengths: list[int], relevant: list[int], width: int
    ) -> HitMatrix:
        """From row-major flag bytes (``width`` per case) and the per-case counts."""
        hits = np.frombuffer(bytes(flags), dtype=np.uint8).reshape(len(lengths), width)
        return cls(hits, np.asarray(lengths, dtype=np.int64), np.asarray(relevant, dtype=np.int64))


def _hit_counts(m: HitMatrix, k: int) -> npt.NDArray[np.int64]:
    counts: npt.NDArray[np.int64] = m.hits[:, :k].sum(axis=1, dtype=np.int64)
    return counts  # integer sums are exact in any order


def _divide(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> FloatArray:
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _row_sums(terms: FloatArray) -> FloatArray:
    """Left-to-right row sums (the scalar loops' order)."""
    if terms.shape[1] == 0:
        return np.zeros(terms.shape[0], dtype=np.float64)
    result: FloatArray = np.cumsum(terms, axis=1)[:, -1]
    return result


def precision(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.precision``: hits in top-k / min(k, len), 0 for an empty list."""
    return _divide(_hit_counts(m, k), np.minimum(m.lengths, k))


def recall(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.recall``: hits in top-k / |rel|, 0 without relevant items."""
    return _divide(_hit_counts(m, k), m.relevant)


def hitrate(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.hitrate``."""
    return (_hit_counts(m, k) > 0).astype(np.float64)


def average_precision(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.average_precision``: Σ hits-so-far/i over hits, / min(|rel|, k)."""
    hits = m.hits[:, :k]
    positions = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    so_far = np.cumsum(hits, axis=1, dtype=np.int64).astype(np.float64)
    terms = np.where(hits > 0, so_far / positions, 0.0)
    value = _divide(_row_sums(terms), np.minimum(m.relevant, k))
    value[m.lengths == 0] = 0.0
    return value


def _ideal(k: int) -> FloatArray:
    ideal = [0.0]
    total = 0.0
    for position in range(1, k + 1):
        total += 1.0 / math.log2(position + 1)
        ideal.append(total)
    return np.asarray(ideal, dtype=np.float64)


def ndcg(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.ndcg``: binary gains, 1/log2(i+1) discounts, IDCG over min(|rel|, k)."""
    hits = m.hits[:, :k]
    discounts = np.asarray(
        [1.0 / math.log2(position + 1) for position in range(1, hits.shape[1] + 1)],
        dtype=np.float64,
    )
    dcg = _row_sums(np.where(hits > 0, discounts, 0.0))
    return _divide(dcg, _ideal(k)[np.minimum(m.relevant, k)])


BATCH: dict[str, Callable[[HitMatrix, int], FloatArray]] = {
    "precision": precision,
    "recall": recall,
    "map": average_precision,
    "ndcg": ndcg,
    "hitrate": hitrate,
}
