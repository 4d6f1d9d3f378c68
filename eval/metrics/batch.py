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


def capped_width(k: int, lengths: npt.NDArray[np.int64]) -> int:
    """The hit-matrix width for a largest cut-off k: no wider than the longest list.

    topK is the whole list when k >= its length (spec §3.4), so positions past the
    longest list never hold a hit; a huge k must not size the matrix.
    """
    return min(k, int(lengths.max(initial=0)))


@dataclass(frozen=True)
class HitMatrix:
    """Per case: relevance flags of the first ``width`` positions, list length, |rel|.

    ``width`` may be less than a metric's k (never less than min(k, longest list)):
    the metrics read at most the first k columns and use k only as a cut-off.
    """

    hits: npt.NDArray[np.uint8]  # shape (cases, width); 0 past the end of a list
    lengths: npt.NDArray[np.int64]
    relevant: npt.NDArray[np.int64]

    @classmethod
    def from_tops(
        cls, flags: bytearray, lengths: list[int], relevant: list[int], k: int
    ) -> HitMatrix:
        """From the flags of each case's first min(len, k) positions, concatenated."""
        length = np.asarray(lengths, dtype=np.int64)
        width = capped_width(k, length)
        shown = np.minimum(length, width)
        hits = np.zeros((len(lengths), width), dtype=np.uint8)
        rows = np.repeat(np.arange(len(lengths)), shown)
        columns = np.arange(len(rows)) - np.repeat(np.cumsum(shown) - shown, shown)
        hits[rows, columns] = np.frombuffer(bytes(flags), dtype=np.uint8)
        return cls(hits, length, np.asarray(relevant, dtype=np.int64))

    def cap(self, k: int) -> int:
        """A cut-off giving the same values as k: k, or at most max(longest list, most |rel|).

        Every metric reads min(k, len) positions and min(k, |rel|) ideal ones, so any
        k past both gives the same numbers; capping keeps array sizes and int64
        arithmetic bounded for any configured k.
        """
        bound = max(int(self.lengths.max(initial=0)), int(self.relevant.max(initial=0)), 1)
        return min(k, bound)


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
    k = m.cap(k)
    return _divide(_hit_counts(m, k), np.minimum(m.lengths, k))


def recall(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.recall``: hits in top-k / |rel|, 0 without relevant items."""
    k = m.cap(k)
    return _divide(_hit_counts(m, k), m.relevant)


def hitrate(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.hitrate``."""
    k = m.cap(k)
    return (_hit_counts(m, k) > 0).astype(np.float64)


def average_precision(m: HitMatrix, k: int) -> FloatArray:
    """Twin of ``ranking.average_precision``: Σ hits-so-far/i over hits, / min(|rel|, k)."""
    k = m.cap(k)
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
    k = m.cap(k)
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
