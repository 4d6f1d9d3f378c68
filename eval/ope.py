"""Off-policy estimation: IPS, SNIPS and DR from logged propensities (spec §1.9, §3.6).

Per item w = target/logging (logging := ``logging_propensity`` else ``propensity``;
items without a positive one are skipped), clipped at ``clipping`` > 0. Unit
``request`` turns each exposure into one sample with weight W = mean of its clipped
item weights, reward Σ (or max) of reward·pw and model Σ (or max) of model·pw.

* IPS   = mean(w·R·pw)                 (Horvitz & Thompson 1952)
* SNIPS = Σ w·R·pw / Σ w               (Swaminathan & Joachims 2015)
* DR    = mean(m·pw + w·(R − m)·pw)     (Dudík, Langford & Li 2011)

Each variance is the n−1 sample variance of the per-sample terms; SNIPS' is taken
around the SNIPS value. Parity quirks kept (§9.7): the last outcome per item wins,
a reward value of 0 reads as 1, the DR model is the in-sample mean reward per item
over all reward outcomes (joined or not), request mode clips twice and
``clipped_fraction`` = clipped items / samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eval.config import OPEConfig
from eval.join import Case
from eval.records import Outcome
from schemas.errors import InputError


@dataclass(frozen=True, slots=True)
class Sample:
    """One OPE sample: reward, importance weight, position weight and model prediction."""

    reward: float
    weight: float
    position_weight: float
    model: float


@dataclass(frozen=True, slots=True)
class EstimatorValue:
    name: str
    value: float
    variance: float


@dataclass(frozen=True, slots=True)
class WeightStats:
    count: int
    mean: float
    p95: float
    max: float
    effective_sample_size: float
    clipped_fraction: float


@dataclass(frozen=True, slots=True)
class Diagnostics:
    missing_target_propensity: int
    near_zero_propensity: int
    total_items: int


@dataclass(frozen=True)
class OPEResult:
    unit: str
    reward_aggregation: str
    estimators: tuple[EstimatorValue, ...]
    weight_stats: WeightStats
    diagnostics: Diagnostics
    warnings: tuple[str, ...]

    @property
    def samples(self) -> int:
        """Number of samples (cases_evaluated of an OPE report)."""
        return self.weight_stats.count


def reward_of(outcome: Outcome | None, reward_event: str) -> float:
    """``value`` (or 1 when it is 0 or missing) if the outcome is the reward event, else 0."""
    if outcome is None or outcome.kind != reward_event:
        return 0.0
    return outcome.value if outcome.value != 0 else 1.0


def reward_model(outcomes: Iterable[Outcome], reward_event: str) -> dict[str, float]:
    """In-sample DR model: mean reward per item over every reward outcome in the dataset."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.kind == reward_event:
            sums[outcome.item_id] = sums.get(outcome.item_id, 0.0) + reward_of(
                outcome, reward_event
            )
            counts[outcome.item_id] = counts.get(outcome.item_id, 0) + 1
    return {item: sums[item] / counts[item] for item in sums}


def _sample_variance(values: Sequence[float], center: float) -> float:
    if len(values) < 2:
        return 0.0
    return sum((v - center) ** 2 for v in values) / (len(values) - 1)


def _go_round(x: float) -> int:
    """Go's math.Round: half away from zero (Python's round() is half to even)."""
    return int(math.floor(x + 0.5))


class _Counters:
    def __init__(self) -> None:
        self.missing_target = 0
        self.near_zero = 0
        self.clipped = 0


def _clip(weight: float, clipping: float, counters: _Counters | None) -> float:
    if clipping > 0 and weight > clipping:
        if counters is not None:
            counters.clipped += 1
        return clipping
    return weight


def build_samples(
    cases: Iterable[Case], model: dict[str, float], config: OPEConfig
) -> tuple[list[Sample], _Counters]:
    """Turn cases into samples at the configured unit, counting the diagnostics."""
    counters = _Counters()
    samples: list[Sample] = []
    for case in cases:
        items = sorted(case.exposure.items, key=lambda i: i.rank)
        if config.top_k > 0:
            items = items[: config.top_k]
        last_outcome = {o.item_id: o for o in case.outcomes}  # the last one per item wins
        per_item: list[Sample] = []
        for item in items:
            logging = (
                item.logging_propensity if item.logging_propensity is not None else item.propensity
            )
            if logging is None or logging <= 0:
                continue
            target = item.target_propensity
            if target is None:
                counters.missing_target += 1
                if not config.allow_missing_target_propensity:
                    continue
                target = logging
            if logging < config.min_propensity:
                counters.near_zero += 1
            if target < config.min_propensity:
                counters.near_zero += 1
            weight = _clip(target / logging, config.clipping, counters)
            position_weight = (
                1.0 / math.log2(item.rank + 1) if config.position_discount == "log2" else 1.0
            )
            per_item.append(
                Sample(
                    reward=reward_of(last_outcome.get(item.item_id), config.reward_event),
                    weight=weight,
                    position_weight=position_weight,
                    model=model.get(item.item_id, 0.0),
                )
            )
        if config.unit == "item":
            samples.extend(per_item)
        elif per_item:
            aggregate = max if config.reward_aggregation == "max" else sum
            samples.append(
                Sample(
                    reward=aggregate(s.reward * s.position_weight for s in per_item),
                    weight=sum(s.weight for s in per_item) / len(per_item),
                    position_weight=1.0,
                    model=aggregate(s.model * s.position_weight for s in per_item),
                )
            )
    return samples, counters


def estimate(samples: Sequence[Sample], counters: _Counters, config: OPEConfig) -> OPEResult:
    """IPS (always), SNIPS and DR (when enabled), weight statistics and warnings."""
    if not samples:
        raise InputError("no valid samples for OPE (no exposure item has usable propensities)")
    weights = [_clip(s.weight, config.clipping, None) for s in samples]
    terms = [w * s.reward * s.position_weight for w, s in zip(weights, samples, strict=True)]
    n = len(samples)
    ips = sum(terms) / n
    estimators = [EstimatorValue("ips", ips, _sample_variance(terms, ips))]
    weight_sum = sum(weights)
    if config.enable_snips:
        snips = sum(terms) / weight_sum if weight_sum else 0.0
        estimators.append(EstimatorValue("snips", snips, _sample_variance(terms, snips)))
    if config.enable_dr:
        dr_terms = [
            s.model * s.position_weight + w * (s.reward - s.model) * s.position_weight
            for w, s in zip(weights, samples, strict=True)
        ]
        dr = sum(dr_terms) / n
        estimators.append(EstimatorValue("dr", dr, _sample_variance(dr_terms, dr)))
    ordered = sorted(weights)
    square_sum = sum(w * w for w in weights)
    stats = WeightStats(
        count=n,
        mean=weight_sum / n,
        p95=ordered[min(_go_round((n - 1) * 0.95), n - 1)],
        max=ordered[-1],
        effective_sample_size=weight_sum * weight_sum / square_sum if square_sum else 0.0,
        clipped_fraction=counters.clipped / n,
    )
    warnings = []
    if stats.clipped_fraction > 0.1:
        warnings.append("high_clipping_fraction")
    if stats.effective_sample_size < 0.2 * n:
        warnings.append("low_effective_sample_size")
    if counters.missing_target and not config.allow_missing_target_propensity:
        warnings.append("missing_target_propensity")
    return OPEResult(
        unit=config.unit,
        reward_aggregation=config.reward_aggregation,
        estimators=tuple(estimators),
        weight_stats=stats,
        diagnostics=Diagnostics(counters.missing_target, counters.near_zero, n),
        warnings=tuple(warnings),
    )


def evaluate_ope(
    cases: Sequence[Case], outcomes: Sequence[Outcome], config: OPEConfig
) -> OPEResult:
    """The whole OPE pipeline over joined cases and all outcomes (for the DR model)."""
    model = reward_model(outcomes, config.reward_event) if config.enable_dr else {}
    samples, counters = build_samples(cases, model, config)
    return estimate(samples, counters, config)
