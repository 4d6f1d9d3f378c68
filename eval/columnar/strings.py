"""Request-id columns as Arrow strings: built from either route, concatenated once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


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


def empty_strings(values: pa.Array) -> npt.NDArray[np.bool_]:
    """Where ``values`` holds ``""``."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.bool_)
    empty: npt.NDArray[np.bool_] = pc.equal(pc.binary_length(values), 0).to_numpy(
        zero_copy_only=False
    )
    return empty
