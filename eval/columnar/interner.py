"""Dense integer codes for strings (item ids, slice values), shared across chunks.

The dictionary ``string → code`` is the definition. Looking up a million freshly
parsed strings in it is memory-bound, though (every probe compares against a key
string somewhere else on the heap), so ``encode_strings`` first tries a numpy
route for chunks of short strings: each string is packed with its length into an
exact 16-byte key, a 64-bit mix of the key finds its code in a sorted table, and
the packed keys of the codes found are compared with the chunk's, so a clash of
the mix only sends the chunk back to the dictionary. New strings always go into
the dictionary first, so both routes hand out the same code for the same string.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count, islice
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
WordArray = npt.NDArray[np.uint64]
_TEXT_BYTES = 15  # of a 16-byte key; the last byte holds the length
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd (golden-ratio) multiplier for the second word


class Interner:
    """Maps each distinct string to a code 0, 1, 2, … in order of first sight."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._table_mix: WordArray = np.zeros(0, dtype=np.uint64)  # sorted
        self._table_code: IntArray = np.zeros(0, dtype=np.int64)
        # by code, the two key words of the codes in the table
        self._low: WordArray = np.zeros(0, dtype=np.uint64)
        self._high: WordArray = np.zeros(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._codes)

    def strings(self) -> list[str]:
        """The strings by code."""
        return list(self._codes)

    def strings_from(self, code: int) -> list[str]:
        """The strings of codes ``code``, ``code + 1``, …"""
        return list(islice(self._codes, code, None))

    def encode(self, values: Sequence[str]) -> IntArray:
        """The codes of ``values`` through the dictionary; new strings get the next codes."""
        codes = self._codes
        fresh = [v for v in dict.fromkeys(values) if v not in codes]  # distinct, in order
        codes.update(zip(fresh, count(len(codes))))
        return np.fromiter(map(codes.__getitem__, values), dtype=np.int64, count=len(values))

    def encode_strings(self, values: list[Any]) -> IntArray | None:
        """Like ``encode``, or None when a value is not a string."""
        try:
            joined = "\0".join(values)
        except TypeError:
            return None
        keys = _packed_keys(joined, len(values))
        found = None if keys is None else self._from_table(keys, values)
        return self.encode(values) if found is None else found

    def _from_table(self, keys: WordArray, values: list[str]) -> IntArray | None:
        mix = keys[:, 0] ^ (keys[:, 1] * _MIX)
        result = np.full(len(mix), -1, dtype=np.int64)
        if len(self._table_mix):
            order = np.argsort(mix)  # sorted queries make the binary searches cache-friendly
            at = np.empty(len(mix), dtype=np.int64)
            at[order] = np.searchsorted(self._table_mix, mix[order])
            np.minimum(at, len(self._table_mix) - 1, out=at)
            known = self._table_mix[at] == mix
            result[known] = self._table_code[at[known]]
        unknown = np.flatnonzero(result < 0)
        if len(unknown):
            distinct, first, inverse = np.unique(
                mix[unknown], return_index=True, return_inverse=True
            )
            codes = self._codes
            rows = unknown[first]
            added = np.array(
                [codes.setdefault(values[i], len(codes)) for i in rows.tolist()], dtype=np.int64
            )
            self._add_to_table(distinct, added, keys[rows])
            result[unknown] = added[inverse.reshape(-1)]
        if not ((self._low[result] == keys[:, 0]) & (self._high[result] == keys[:, 1])).all():
            return None  # two strings share a mix: the dictionary decides
        return result

    def _add_to_table(self, mix: WordArray, codes: IntArray, keys: WordArray) -> None:
        size = len(self._codes)
        if len(self._low) < size:
            capacity = max(size, 2 * len(self._low))
            self._low = np.concatenate((self._low, np.zeros(capacity - len(self._low), np.uint64)))
            self._high = np.concatenate(
                (self._high, np.zeros(capacity - len(self._high), np.uint64))
            )
        self._low[codes] = keys[:, 0]
        self._high[codes] = keys[:, 1]
        merged_mix = np.concatenate((self._table_mix, mix))
        order = np.argsort(merged_mix, kind="stable")
        self._table_mix = merged_mix[order]
        self._table_code = np.concatenate((self._table_code, codes))[order]


def _packed_keys(joined: str, n: int) -> WordArray | None:
    """Each string's UTF-8 bytes and length as two words; None if any is long or has NUL."""
    if n == 0:
        return None
    try:
        raw = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None  # a lone surrogate
    ends = np.flatnonzero(raw == 0)
    if len(ends) != n - 1:
        return None  # a NUL inside a string
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [len(raw)])) - starts
    if int(lengths.max()) > _TEXT_BYTES:
        return None
    # byte i of row r goes to r*16 + (i - starts[r]); a separator lands on a zero pad byte
    shift = np.arange(0, 16 * n, 16) - starts
    target = np.arange(len(raw)) + np.repeat(shift, lengths + 1)[: len(raw)]
    keys = np.zeros((n, 16), dtype=np.uint8)
    keys.reshape(-1)[target] = raw
    keys[:, _TEXT_BYTES] = lengths
    words: WordArray = keys.view(np.uint64)
    return words
