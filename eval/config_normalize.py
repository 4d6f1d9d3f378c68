"""Defaults and checks applied after strict decoding (the original's config_normalize.go).

Zero values that are meaningless take the original's defaults (iterations 200,
ci_level 0.95, alphas 0.05 / 0.001, min_sample 100, power 0.8, min_propensity 1e-6,
primary_metrics [ctr]); enums are lower-cased and checked; the time split needs all
four bounds with train.end ≤ test.start. Errors name ``file:line`` of the offending
key when the file has it (``file`` alone for a section that is missing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eval.config import (
    MODES,
    EvalConfig,
    ExperimentConfig,
    MetricConfig,
    MultipleComparisonsConfig,
    OfflineConfig,
)
from eval.metrics.registry import resolve
from eval.stats.correction import CORRECTIONS
from eval.timeparse import parse_rfc3339
from eval.yamlstrict import load_strict_with_lines
from schemas.errors import ConfigError


def load_config(path: Path, *, mode_override: str | None = None) -> EvalConfig:
    """Load, default and validate an eval config; ``--mode`` overrides ``mode:``."""
    config, lines = load_strict_with_lines(EvalConfig, path)
    return normalize(config, mode_override=mode_override, source=str(path), lines=lines)


@dataclass(frozen=True)
class _Source:
    """The config file and the line of each key in it, for error locations."""

    path: str
    lines: Mapping[str, int]

    def at(self, *keys: str) -> str:
        """``file:line`` of the first of ``keys`` the file has (most specific first)."""
        for key in keys:
            if key in self.lines:
                return f"{self.path}:{self.lines[key]}"
        return self.path


def _choice(value: str, allowed: tuple[str, ...], key: str, src: _Source, default: str) -> str:
    chosen = value.strip().lower() or default
    if chosen not in allowed:
        raise ConfigError(
            f"{src.at(key)}: {key} must be one of {', '.join(allowed)}, got {value!r}"
        )
    return chosen


def _positive(value: float, default: float) -> float:
    return value if value > 0 else default


def normalize(
    config: EvalConfig,
    *,
    mode_override: str | None,
    source: str,
    lines: Mapping[str, int] | None = None,
) -> EvalConfig:
    """Apply the original's defaults (config_normalize.go) and check every value.

    ``lines`` (dotted key → line, from ``load_strict_with_lines``) puts the line of
    the offending key in each error.
    """
    src = _Source(source, lines or {})
    mode = _choice(
        mode_override or config.mode,
        MODES,
        "mode",
        _Source(source, {}) if mode_override else src,  # --mode has no line
        "offline",
    )
    offline = _normalize_offline(config.offline, mode, src)
    experiment = _normalize_experiment(config.experiment, src)
    ope = config.ope
    ope = dataclasses.replace(
        ope,
        reward_event=_choice(
            ope.reward_event, ("click", "conversion"), "ope.reward_event", src, "click"
        ),
        unit=_choice(ope.unit, ("request", "item"), "ope.unit", src, "request"),
        reward_aggregation=_choice(
            ope.reward_aggregation, ("sum", "max"), "ope.reward_aggregation", src, "sum"
        ),
        position_discount=_choice(
            ope.position_discount, ("none", "log2"), "ope.position_discount", src, "none"
        ),
        min_propensity=_positive(ope.min_propensity, 1e-6),
    )
    if ope.top_k < 0 or ope.clipping < 0:
        where = src.at("ope.top_k" if ope.top_k < 0 else "ope.clipping")
        raise ConfigError(f"{where}: ope.top_k and ope.clipping must be >= 0")
    inter = config.interleaving
    inter = dataclasses.replace(
        inter,
        algorithm=_choice(
            inter.algorithm,
            ("team_draft", "balanced", "optimized"),
            "interleaving.algorithm",
            src,
            "team_draft",
        ),
    )
    scale = dataclasses.replace(
        config.scale,
        mode=_choice(
            config.scale.mode, ("memory", "stream", "duckdb"), "scale.mode", src, "memory"
        ),
    )
    if scale.mode == "duckdb":
        raise ConfigError(
            f"{src.at('scale.mode')}: scale.mode duckdb is not available in this build"
        )
    return dataclasses.replace(
        config,
        mode=mode,
        offline=offline,
        experiment=experiment,
        ope=ope,
        interleaving=inter,
        scale=scale,
    )


def _normalize_offline(offline: OfflineConfig, mode: str, src: _Source) -> OfflineConfig:
    if mode == "offline" and not offline.metrics:
        raise ConfigError(
            f"{src.at('offline.metrics', 'offline')}: offline.metrics is required "
            "(a non-empty list of {name, k})"
        )
    metrics = []
    for index, metric in enumerate(offline.metrics):
        name = resolve(metric.name)
        if metric.k <= 0:
            raise ConfigError(
                f"{src.at(f'offline.metrics[{index}]')}: offline.metrics[{index}] "
                f"({metric.name}): k must be > 0, got {metric.k}"
            )
        metrics.append(MetricConfig(name, metric.k))
    split = offline.time_split
    if split is not None:
        bounds = {
            "train.start": split.train.start,
            "train.end": split.train.end,
            "test.start": split.test.start,
            "test.end": split.test.end,
        }
        parsed = {}
        for key, text in bounds.items():
            dotted = f"offline.time_split.{key}"
            window = dotted.rsplit(".", 1)[0]  # a missing bound: its window's line
            if not text:
                where = src.at(window, "offline.time_split")
                raise ConfigError(f"{where}: {dotted} is required")
            try:
                parsed[key] = parse_rfc3339(text)
            except ValueError as exc:
                raise ConfigError(f"{src.at(dotted)}: {dotted}: {exc}") from None
        if parsed["train.end"] > parsed["test.start"]:
            raise ConfigError(
                f"{src.at('offline.time_split.train.end')}: offline.time_split: "
                "train.end must be <= test.start"
            )
    boot = offline.bootstrap
    boot = dataclasses.replace(
        boot,
        iterations=boot.iterations if boot.iterations > 0 else 200,
        ci_level=boot.ci_level if 0 < boot.ci_level < 1 else 0.95,
    )
    return dataclasses.replace(offline, metrics=tuple(metrics), bootstrap=boot)


def _normalize_experiment(experiment: ExperimentConfig, src: _Source) -> ExperimentConfig:
    mc = experiment.multiple_comparisons
    method = mc.method.strip().lower() or "fdr_bh"
    if method not in CORRECTIONS:
        raise ConfigError(
            f"{src.at('experiment.multiple_comparisons.method')}: "
            "experiment.multiple_comparisons.method must be one of "
            f"{', '.join(sorted(CORRECTIONS))}, got {mc.method!r}"
        )
    power = experiment.power
    srm = experiment.srm
    return dataclasses.replace(
        experiment,
        primary_metrics=tuple(m.lower() for m in experiment.primary_metrics) or ("ctr",),
        multiple_comparisons=MultipleComparisonsConfig(method, _positive(mc.alpha, 0.05)),
        power=dataclasses.replace(
            power,
            metric=power.metric or "ctr",
            alpha=_positive(power.alpha, 0.05),
            power=_positive(power.power, 0.8),
        ),
        srm=dataclasses.replace(
            srm,
            alpha=_positive(srm.alpha, 0.001),
            min_sample=srm.min_sample if srm.min_sample > 0 else 100,
        ),
        aa_check=dataclasses.replace(
            experiment.aa_check,
            thresholds=experiment.aa_check.thresholds or (0.05, 0.01, 0.001),
        ),
    )
