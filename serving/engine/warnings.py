"""Response warnings and their deterministic order (spec §4.4).

The original emits signal warnings from a Go map, so their order varies between runs.
Ours sorts every warning by a fixed code rank (the pipeline stage that produces it),
then keeps the order in which that stage emitted them, which is itself deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: every code we emit, in pipeline-stage order; a new code must be added here
CODE_ORDER: tuple[str, ...] = (
    "DEFAULT_APPLIED",
    "SIGNAL_UNAVAILABLE",
    "SIGNAL_PARTIAL",
    "CATALOG_FALLBACK",  # ours: a short pool topped up from the catalog (catalog_fill.py)
    "RULE_PIN_INJECTED",
    "CONSTRAINTS_FILTERED",
    "TAG_LOOKUP_FAILED",
    "CANDIDATES_INCLUDE_FILTERED",
    "CANDIDATES_INCLUDE_UNMATCHED",
    "CANDIDATES_INCLUDE_EMPTY",
)
_RANK = {code: n for n, code in enumerate(CODE_ORDER)}


@dataclass(frozen=True, slots=True)
class ServingWarning:
    """One ``{code, detail}`` entry of ``warnings[]``."""

    code: str
    detail: str

    def __post_init__(self) -> None:
        if self.code not in _RANK:
            raise ValueError(f"unknown warning code {self.code!r}; known: {', '.join(CODE_ORDER)}")

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def ordered(warnings: Iterable[ServingWarning]) -> tuple[ServingWarning, ...]:
    """Warnings sorted by code rank, stable within a code, exact duplicates dropped."""
    listed = tuple(warnings)
    if len(listed) < 2:  # the common case (no warning or one): nothing to sort or drop
        return listed
    seen: set[ServingWarning] = set()
    unique = []
    for w in listed:
        if w not in seen:
            seen.add(w)
            unique.append(w)
    return tuple(sorted(unique, key=lambda w: _RANK[w.code]))
