"""What the serving app is built from: settings values and dependencies, passed in.

``app/`` builds a ``ServingSettings`` from its typed settings and a ``ServingDeps``
from the views, the event sink, the config store and the key ring; nothing in
``serving/`` reads the environment.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from schemas.errors import ConfigError
from serving.auth import KeyRing
from serving.config_store import ConfigStore
from serving.engine.model import EngineSettings
from serving.experiments import DEFAULT_VARIANTS, AssignmentLog, Experiment
from serving.live_source import LiveSource
from serving.sink import EventSink
from serving.views import CatalogView, CovisitationView, HistoryView, PopularityView

#: ``per_unit``: one assignment.v1 per (tenant, experiment, variant, user) while the unit
#: stays among the ``assignment_log_capacity`` most recently seen; ``per_request``: one
#: per server-assigned request (the SRM counts then carry every repeat request)
ASSIGNMENT_LOGGING = ("per_unit", "per_request")

ReadyCheck = Callable[[], Awaitable[bool] | bool]  # e.g. ViewReader.ready, probe.reachable


class Resource(Protocol):
    """Something the app starts before serving and stops after (view reader, store)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class ServingSettings:
    exposure_salt: str
    experiment_salt: str = ""  # empty → the exposure salt, as in the original
    algo_version: str = "recsys-algo@local"
    experiments: tuple[Experiment, ...] = ()
    default_variants: tuple[str, ...] = DEFAULT_VARIANTS
    explain_max_items: int = 50
    explain_require_admin: bool = True
    open_roles: frozenset[str] = frozenset()  # roles granted when no key ring is configured
    rate_capacity: float = 60.0
    rate_refill_per_s: float = 30.0  # 0 → the rate limit is off
    max_inflight: int = 0  # 0 → no backpressure
    retry_after_s: int = 1
    max_body_bytes: int = 1 << 20
    docs_enabled: bool = True
    # the history view is keyed by the user id of the events, which our producers
    # pseudonymize with the same salt; False looks it up by the raw user_id
    history_ids_pseudonymous: bool = True
    engine: EngineSettings = field(default_factory=EngineSettings)
    assignment_logging: str = "per_unit"  # see ASSIGNMENT_LOGGING
    assignment_log_capacity: int = 100_000  # units remembered by ``per_unit``

    def __post_init__(self) -> None:
        if not self.exposure_salt:
            raise ConfigError("ServingSettings.exposure_salt is required (pseudonymous ids)")
        if self.assignment_logging not in ASSIGNMENT_LOGGING:
            raise ConfigError(f"ServingSettings.assignment_logging must be one of "
                              f"{', '.join(ASSIGNMENT_LOGGING)}; got {self.assignment_logging!r}")
        if self.assignment_log_capacity < 1:
            raise ConfigError("ServingSettings.assignment_log_capacity must be ≥ 1")

    def assignment_log(self) -> AssignmentLog:
        """A fresh log of the configured kind (capacity 0 = every request is logged)."""
        per_unit = self.assignment_logging == "per_unit"
        return AssignmentLog(self.assignment_log_capacity if per_unit else 0)

    @property
    def assignment_salt(self) -> str:
        return self.experiment_salt or self.exposure_salt

    @property
    def experiments_by_id(self) -> Mapping[str, Experiment]:
        return {e.id: e for e in self.experiments}


@dataclass(frozen=True, slots=True)
class ServingDeps:
    popularity: PopularityView
    catalog: CatalogView
    sink: EventSink
    config_store: ConfigStore
    settings: ServingSettings
    covisitation: CovisitationView | None = None
    history: HistoryView | None = None
    keys: KeyRing | None = None
    ready_checks: Mapping[str, ReadyCheck] = field(default_factory=dict)
    clock_ms: Callable[[], int] = wall_clock_ms
    monotonic: Callable[[], float] = time.monotonic
    invalidate_popularity: Callable[[str, str | None], int] | None = None
    # started in order by the app's cleanup_ctx before the sink, stopped in reverse after
    resources: tuple[Resource, ...] = ()
    # the live join's documents; set → /v1/live/*, /dashboard and live series in /metrics
    live: LiveSource | None = None
    # units whose assignment.v1 was produced recently; None → settings.assignment_log()
    assignments: AssignmentLog | None = None

    def __post_init__(self) -> None:
        if self.assignments is None:
            object.__setattr__(self, "assignments", self.settings.assignment_log())
