"""The eval config YAML (spec §3.3): frozen dataclasses, strict keys, original defaults.

``eval.config_normalize.load_config`` decodes strictly (unknown key → ConfigError
naming file, line and key), then applies the original's zero → default rules and
checks values (metric names, k > 0, enums, time split). The keys beyond the original
are ``experiment.request_ctr`` (our per-request CTR) and
``experiment.context_variant_fallback`` (exposures without an assignment take the arm
from their context, as the live join does); both are off by default so reports stay
byte-compatible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eval.metrics.registry import MetricSpec, resolve
from eval.timeparse import parse_rfc3339
from eval.timesplit import Window
from schemas.errors import ConfigError

MODES = ("offline", "experiment", "ope", "interleaving", "aa-check")


@dataclass(frozen=True)
class MetricConfig:
    name: str = ""
    k: int = 0

    def check(self) -> None:
        """The name must be in the registry and k > 0."""
        resolve(self.name)
        if self.k <= 0:
            raise ConfigError(f"metric {self.name!r}: k must be > 0, got {self.k}")


@dataclass(frozen=True)
class GateConfig:
    metric: str = ""
    max_drop: float = 0.0


@dataclass(frozen=True)
class WindowConfig:
    start: str = ""
    end: str = ""

    def check(self) -> None:
        """Both bounds, when given, must be RFC 3339."""
        for text in (self.start, self.end):
            if text:
                try:
                    parse_rfc3339(text)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class TimeSplitConfig:
    train: WindowConfig = field(default_factory=WindowConfig)
    test: WindowConfig = field(default_factory=WindowConfig)


@dataclass(frozen=True)
class BootstrapConfig:
    enabled: bool = False
    iterations: int = 200
    seed: int = 42
    ci_level: float = 0.95


@dataclass(frozen=True)
class OfflineConfig:
    metrics: tuple[MetricConfig, ...] = ()
    slice_keys: tuple[str, ...] = ()
    gates: tuple[GateConfig, ...] = ()
    time_split: TimeSplitConfig | None = None
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    history_dir: str = ""


@dataclass(frozen=True)
class GuardrailConfig:
    max_latency_p95_ms: float = 0.0
    max_error_rate: float = 0.0
    max_empty_rate: float = 0.0


@dataclass(frozen=True)
class CupedConfig:
    enabled: bool = False
    covariate_key: str = ""


@dataclass(frozen=True)
class PowerConfig:
    metric: str = "ctr"
    baseline_rate: float = 0.0
    mde: float = 0.0
    alpha: float = 0.05
    power: float = 0.8
    daily_samples: float = 0.0


@dataclass(frozen=True)
class MultipleComparisonsConfig:
    method: str = "fdr_bh"
    alpha: float = 0.05


@dataclass(frozen=True)
class SRMConfig:
    enabled: bool = False
    alpha: float = 0.001
    min_sample: int = 100
    expected: Mapping[str, float] = field(default_factory=dict)
    slice_keys: tuple[str, ...] = ()
    gate_enabled: bool = False


@dataclass(frozen=True)
class DecisionConfig:
    enabled: bool = False
    output_path: str = ""
    candidate_variant: str = ""
    primary_thresholds: Mapping[str, float] = field(default_factory=dict)
    guardrail_gate: bool = False
    srm_gate: bool = False


@dataclass(frozen=True)
class AACheckConfig:
    enabled: bool = False
    thresholds: tuple[float, ...] = (0.05, 0.01, 0.001)


@dataclass(frozen=True)
class RequestCtrConfig:
    """Our addition: per-request CTR with delta-method CIs (``experiment.request_ctr``)."""

    enabled: bool = False
    ci_level: float = 0.95


@dataclass(frozen=True)
class ExperimentConfig:
    experiment_id: str = ""
    control_variant: str = ""
    primary_metrics: tuple[str, ...] = ()
    slice_keys: tuple[str, ...] = ()
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
    cuped: CupedConfig = field(default_factory=CupedConfig)
    power: PowerConfig = field(default_factory=PowerConfig)
    multiple_comparisons: MultipleComparisonsConfig = field(
        default_factory=MultipleComparisonsConfig
    )
    srm: SRMConfig = field(default_factory=SRMConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    aa_check: AACheckConfig = field(default_factory=AACheckConfig)
    request_ctr: RequestCtrConfig = field(default_factory=RequestCtrConfig)
    context_variant_fallback: bool = False
    """Our addition: an exposure with no assignment record takes its arm from its context
    (``experiment_id``/``experiment_variant``), as the live join does. Off (the original):
    such exposures are ignored. For servers that log one assignment per user, not per
    request (``recsys serve`` by default), so the SRM test counts users."""


@dataclass(frozen=True)
class OPEConfig:
    reward_event: str = "click"
    unit: str = "request"
    reward_aggregation: str = "sum"
    top_k: int = 0
    clipping: float = 0.0
    min_propensity: float = 1e-6
    enable_snips: bool = False
    enable_dr: bool = False
    position_discount: str = "none"
    allow_missing_target_propensity: bool = False


@dataclass(frozen=True)
class InterleavingConfig:
    algorithm: str = "team_draft"
    seed: int = 42
    max_results: int = 0


@dataclass(frozen=True)
class StreamScaleConfig:
    max_open_requests: int = 0
    temp_dir: str = ""


@dataclass(frozen=True)
class DuckdbScaleConfig:
    enabled: bool = False


@dataclass(frozen=True)
class ScaleConfig:
    mode: str = "memory"
    stream: StreamScaleConfig = field(default_factory=StreamScaleConfig)
    duckdb: DuckdbScaleConfig = field(default_factory=DuckdbScaleConfig)


@dataclass(frozen=True)
class S3Config:
    endpoint: str = ""
    bucket: str = ""
    access_key: str = ""
    secret_key: str = ""
    region: str = ""
    use_ssl: bool = False


@dataclass(frozen=True)
class ObjectStoreConfig:
    type: str = "file"
    s3: S3Config = field(default_factory=S3Config)


@dataclass(frozen=True)
class ArtifactsConfig:
    manifest_uri: str = ""
    object_store: ObjectStoreConfig = field(default_factory=ObjectStoreConfig)


@dataclass(frozen=True)
class EvalConfig:
    """The whole eval config file."""

    mode: str = ""
    offline: OfflineConfig = field(default_factory=OfflineConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    ope: OPEConfig = field(default_factory=OPEConfig)
    interleaving: InterleavingConfig = field(default_factory=InterleavingConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    artifacts: ArtifactsConfig = field(default_factory=ArtifactsConfig)

    def metric_specs(self) -> tuple[MetricSpec, ...]:
        """The offline metrics as registry specs (names resolved, k checked by normalize)."""
        return tuple(MetricSpec(resolve(m.name), m.k) for m in self.offline.metrics)

    def test_window(self) -> Window | None:
        """The time-split test window, if a time split is configured."""
        split = self.offline.time_split
        if split is None:
            return None
        return Window(parse_rfc3339(split.test.start), parse_rfc3339(split.test.end))
