"""Per-request CTR beside the original's event-count CTR (our addition, §9.4 kept as is).

``request_ctr`` = requests with ≥1 click / requests, in [0, 1], with a normal CI;
each non-control variant also gets the absolute and relative lift over the control,
the relative one with a delta-method CI (see ``eval.stats.delta``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval.experiment import VariantStats
from eval.stats.delta import Estimate, absolute_lift, proportion, relative_lift


@dataclass(frozen=True, slots=True)
class RequestCtr:
    """One variant's per-request CTR."""

    variant: str
    requests: int
    clicked_requests: int
    estimate: Estimate


@dataclass(frozen=True, slots=True)
class RequestCtrLift:
    """A non-control variant's lift in per-request CTR over the control."""

    variant: str
    control: str
    absolute: Estimate
    relative: Estimate | None


def request_ctr(
    stats: Sequence[VariantStats], control: str, level: float
) -> tuple[tuple[RequestCtr, ...], tuple[RequestCtrLift, ...]]:
    """Per-variant per-request CTR and lifts vs the control."""
    rates = tuple(
        RequestCtr(
            s.variant,
            s.exposures,
            s.clicked_requests,
            proportion(s.clicked_requests, s.exposures, level),
        )
        for s in stats
    )
    base = next((s for s in stats if s.variant == control), None)
    lifts = []
    if base is not None:
        for s in stats:
            if s.variant == control:
                continue
            args = (s.clicked_requests, s.exposures, base.clicked_requests, base.exposures, level)
            lifts.append(
                RequestCtrLift(s.variant, control, absolute_lift(*args), relative_lift(*args))
            )
    return rates, tuple(lifts)
