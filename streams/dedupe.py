"""Exactly-once effects on an at-least-once stream: the two checks every stage makes.

1. **Redelivery** (the same input record again, after a crash or rebalance): every
   table value carries the input offset that last changed it. A key is only ever
   written while processing records of one input partition, so a record whose offset
   is not above the key's is already folded in and is skipped.
2. **Duplicate messages** (a stage re-emitting derived records after a crash, so the
   same derived update appears again at a new offset): every derived record carries
   its *origin* — the (stage, partition, offset, index) of the input record it came
   from. Records of one origin partition arrive in origin order, so each stage keeps,
   per (its partition, origin partition), the highest origin already applied (a
   ``mark``) and skips anything not above it.

The mark is written after the effects of its record, into the same changelog
partition, so any prefix of the changelog that holds the mark holds the effects too;
effects present without their mark are caught by check 1 on reprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

Origin = tuple[int, int]
"""(offset, index) within one origin partition, compared lexicographically."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """Where a derived record came from."""

    stage: str
    partition: int
    offset: int
    index: int

    def to_json(self) -> list[object]:
        return [self.stage, self.partition, self.offset, self.index]

    @classmethod
    def from_json(cls, raw: list[object]) -> Stamp:
        stage, partition, offset, index = raw
        return cls(str(stage), int(partition), int(offset), int(index))  # type: ignore[call-overload]

    @property
    def mark_key(self) -> str:
        return f"{self.stage}/{self.partition}"

    @property
    def origin(self) -> Origin:
        return (self.offset, self.index)


def is_redelivery(last_offset: int | None, offset: int) -> bool:
    """Check 1: this input record was already folded into the key."""
    return last_offset is not None and offset <= last_offset


def is_duplicate(mark: Origin | None, stamp: Stamp) -> bool:
    """Check 2: a derived record whose origin was already applied."""
    return mark is not None and stamp.origin <= mark
