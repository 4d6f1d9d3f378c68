"""Knobs of the stream state (built from app settings, passed in explicitly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.history import HistoryConfig
from streams.popularity import PopularityConfig


@dataclass(frozen=True)
class StateConfig:
    popularity: PopularityConfig = field(default_factory=PopularityConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    covis_top_n: int = 50
    grace_ms: int = 5 * 60_000
    """Event time an outcome waits for its exposure before it counts under ``default``:
    released once the partition has seen events this much newer."""
    grace_wall_ms: int = 5 * 60_000
    """Wall-clock time the same wait may last (so an idle partition releases too)."""
    publish_interval_s: float = 0.25
    """How often changed views are published to the view topics."""
