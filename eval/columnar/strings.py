"""Request-id columns as Arrow strings: built from either route, concatenated once."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa


def string_part(values: Sequence[str] | pa.Array) -> pa.Array:
    """``values`` as an Arrow string array (a list from the orjson route is converted)."""
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, type=pa.string())


def concat_strings(parts: list[pa.Array]) -> pa.Array:
    """The parts as one large_string array (over 2 GiB of text stays one array)."""
    return pa.concat_arrays(
        [part.cast(pa.large_string()) for part in parts] or [pa.array([], pa.large_string())]
    )
