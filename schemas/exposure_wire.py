"""``exposure.v1`` Avro bodies written straight from a served list (serving's hot path).

A serving replica logs one exposure per request: 20 ranked items, a dozen context
labels. Through the typed event (20 ``ExposureItem`` objects, the contract check, the
record dict of ``to_avro`` and the compiled writer) that cost ~100 µs per request, a
tenth of the request's CPU. Every item a server logs has no propensities, so an item's
encoding is its id's Avro string followed by its rank and three null branches; the id's
part is kept per item id, and the body is a join of ready-made chunks. The kept ids are
bounded (200,000 by default, ~85 bytes each beside the id string the views already
hold: ~17 MB when full, measured) and start over when the bound is reached.

``ExposureWriter.body`` returns exactly the bytes ``AvroCodec.encode`` writes after its
5-byte header for the same ``Exposure`` (tests hold the two byte for byte on generated
values), or ``None`` when a value would not pass the exposure contract: the caller then
takes the typed path, which words the error. So nothing invalid leaves through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from schemas.avro_binary import pack_double, string_bytes, zigzag
from schemas.timestamps import is_rfc3339

_BRANCH_1 = b"\x02"
_NULL = b"\x00"
# rank (a long) then the three optional propensities, all null
_TAILS = [zigzag(rank) + b"\x00\x00\x00" for rank in range(1025)]


class ExposureWriter:
    """Writes exposure bodies; keeps the encoded id of up to ``max_items`` item ids and
    of up to ``max_labels`` context keys and values (tenants, surfaces, versions)."""

    def __init__(self, max_items: int = 200_000, max_labels: int = 4_096) -> None:
        self.max_items = max_items
        self.max_labels = max_labels
        self._items: dict[str, bytes] = {}
        self._labels: dict[str, bytes] = {}

    def _item(self, item_id: str) -> bytes | None:
        if type(item_id) is not str or not item_id:
            return None
        items = self._items
        if len(items) >= self.max_items:
            items.clear()  # a catalog larger than the bound: start over, stay bounded
        encoded = items[item_id] = string_bytes(item_id)
        return encoded

    def _label(self, value: str) -> bytes:
        labels = self._labels
        if len(labels) >= self.max_labels:
            labels.clear()
        encoded = labels[value] = string_bytes(value)
        return encoded

    def body(self, request_id: str, user_id: str, ts: str, item_ids: Sequence[str],
             context: Mapping[str, str] | None, latency_ms: float | None,
             error: bool | None) -> bytes | None:
        """The Avro body of ``Exposure(request_id, user_id, ts, items ranked from 1,
        context, latency_ms, error)``, or None if any value breaks the contract."""
        if (type(request_id) is not str or not request_id or type(user_id) is not str
                or not user_id or type(ts) is not str or not is_rfc3339(ts)):
            return None
        out = [string_bytes(request_id), string_bytes(user_id), string_bytes(ts)]
        append = out.append
        if item_ids:
            append(zigzag(len(item_ids)))
            known = self._items.get
            tails = _TAILS
            for rank, item_id in enumerate(item_ids, start=1):
                encoded = known(item_id) if type(item_id) is str else None
                if encoded is None:
                    encoded = self._item(item_id)
                    if encoded is None:
                        return None
                append(encoded)
                append(tails[rank] if rank < 1025 else zigzag(rank) + b"\x00\x00\x00")
        append(_NULL)
        if context is None:
            append(_NULL)
        else:
            append(_BRANCH_1)  # branch 1 of ["null", map]
            if context:
                append(zigzag(len(context)))
                label = self._labels.get
                for key, value in context.items():
                    if type(key) is not str or type(value) is not str:
                        return None
                    append(label(key) or self._label(key))
                    append(label(value) or self._label(value))
            append(_NULL)
        if latency_ms is None:
            append(_NULL)
        else:
            if (type(latency_ms) is not float and type(latency_ms) is not int
                    or not math.isfinite(latency_ms) or latency_ms < 0):
                return None
            append(_BRANCH_1)
            append(pack_double(latency_ms))
        if error is None:
            append(_NULL)
        elif type(error) is bool:
            append(b"\x02\x01" if error else b"\x02\x00")
        else:
            return None
        return b"".join(out)
