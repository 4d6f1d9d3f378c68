"""Knobs of the live join (built from app settings, passed in explicitly)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.state_config import StateConfig

DAY_MS = 24 * 3600_000


@dataclass(frozen=True)
class LiveConfig:
    attribution_window_ms: int = DAY_MS
    """Event time after an exposure during which its outcomes join it; the exposure is
    forgotten once the partition's event time passes exposure + window + grace."""
    grace_ms: int = 5 * 60_000
    """Event time an outcome waits for its exposure before it counts as an orphan."""
    grace_wall_ms: int = 5 * 60_000
    """Wall-clock time the same wait may last (so an idle partition releases too)."""
    slice_keys: tuple[str, ...] = ()
    """Exposure context keys of the experiment segments (offline ``experiment.slice_keys``)."""
    srm_slice_keys: tuple[str, ...] = ()
    """Assignment context keys of the SRM segments (offline ``experiment.srm.slice_keys``)."""
    context_variant_fallback: bool = True
    """A request with no assignment for an experiment takes the variant from its exposure
    context (``experiment_id``/``experiment_variant``). The offline evaluator ignores such
    exposures, so turn this off for strict parity on logs that carry context variants
    without assignment records."""
    publish_interval_s: float = 0.5
    """At most this often, a partition's changed tally is published to the live view."""


def live_config_from(state: StateConfig) -> LiveConfig:
    """The live join's config with the stream state's grace periods."""
    return LiveConfig(grace_ms=state.grace_ms, grace_wall_ms=state.grace_wall_ms)
