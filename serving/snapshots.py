"""Per-namespace popularity snapshots: rank order and decay inputs, built once per update.

A view update (``ViewState.put_popularity``) builds one ``PopularitySnapshot``; requests
only slice it and decay the entries they read. The decayed score of an entry is

    value · 2^(−(now − t) / half_life)

(exponential decay with half-life ``h``, the stream worker's popularity aggregate), and
the order of entries is the same at every ``now`` (``log2(value) + t/h`` descending), so
the rank order is computed once and never per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from schemas.views import DecayedEntry


class PopularitySnapshot:
    """One namespace's popularity entries in rank order, with an item → position index."""

    __slots__ = ("_memo", "ids", "position", "t_ms", "values")

    def __init__(self, entries: Sequence[DecayedEntry]) -> None:
        self.ids = tuple(e.item_id for e in entries)
        self.values = tuple(e.value for e in entries)
        self.t_ms = tuple(e.t_ms for e in entries)
        # a duplicated id resolves to its last entry, as a dict built from the list would
        self.position = {item: n for n, item in enumerate(self.ids)}
        # the last top() answer: requests within the same millisecond share it
        self._memo: tuple[int, int, float, list[tuple[str, float]]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, n: int, now_ms: int, half_life_ms: float) -> list[tuple[str, float]]:
        """The first ``n`` (item_id, decayed score) pairs; callers must not mutate it."""
        memo = self._memo
        if memo is not None and memo[1] == now_ms and memo[2] == half_life_ms:
            if n == memo[0]:
                return memo[3]
            if 0 <= n < memo[0]:  # a shorter top of the same moment: a prefix of the memo
                return memo[3][:n]
        out = [
            (item, float(v * 2.0 ** (-(now_ms - t) / half_life_ms)))
            for item, v, t in zip(self.ids[:n], self.values[:n], self.t_ms[:n], strict=True)
        ]
        self._memo = (n, now_ms, half_life_ms, out)
        return out

    def score(self, item_id: str, now_ms: int, half_life_ms: float) -> float:
        """The decayed score of one item; 0.0 when it is not in the snapshot."""
        n = self.position.get(item_id)
        if n is None:
            return 0.0
        return float(self.values[n] * 2.0 ** (-(now_ms - self.t_ms[n]) / half_life_ms))

    def scores(self, ids: Iterable[str], now_ms: int, half_life_ms: float) -> dict[str, float]:
        """``{item: score(item)}`` for every id, in one pass."""
        position, values, t_ms = self.position, self.values, self.t_ms
        out: dict[str, float] = {}
        for item in ids:
            n = position.get(item)
            out[item] = 0.0 if n is None else float(
                values[n] * 2.0 ** (-(now_ms - t_ms[n]) / half_life_ms))
        return out
