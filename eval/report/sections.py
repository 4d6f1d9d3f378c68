"""Result dataclasses → the JSON shapes of report.v1 (field names and omissions as the original).

Go's ``omitempty`` fields are left out when zero: ``relative_delta``,
``throughput_rps``, ``duplicate_exposure_request_ids``, ``segment`` and empty lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.aacheck import AACheck
from eval.baseline import GateResult, MetricDelta
from eval.cuped_analysis import CupedResult
from eval.decision import Decision
from eval.experiment import GuardrailResult, SignificanceTest, VariantStats
from eval.interleaving import InterleavingResult
from eval.join import Completeness, DataQuality
from eval.offline import MetricValue, OfflineResult
from eval.ope import OPEResult
from eval.request_ctr import RequestCtr, RequestCtrLift
from eval.stats.delta import Estimate
from eval.stats.power import PowerResult
from eval.stats.srm import SRMResult
from eval.summary import Executive

Json = dict[str, Any]


def completeness(block: Completeness) -> Json:
    """A completeness block: total, missing, missing_rate."""
    return {"total": block.total, "missing": block.missing, "missing_rate": block.missing_rate}


def data_quality(dq: DataQuality) -> Json:
    """The data_quality block; duplicate_exposure_request_ids only when non-zero."""
    ji = dq.join_integrity
    integrity: Json = {
        "exposure_count": ji.exposure_count,
        "outcome_count": ji.outcome_count,
        "exposure_join_rate": ji.exposure_join_rate,
        "outcome_join_rate": ji.outcome_join_rate,
        "assignments_count": ji.assignments_count,
        "assignment_join_rate": ji.assignment_join_rate,
    }
    if ji.duplicate_exposure_request_ids:
        integrity["duplicate_exposure_request_ids"] = ji.duplicate_exposure_request_ids
    out: Json = {
        "exposure_completeness": completeness(dq.exposure_completeness),
        "outcome_completeness": completeness(dq.outcome_completeness),
        "join_integrity": integrity,
    }
    if dq.assignment_completeness is not None:
        out["assignment_completeness"] = completeness(dq.assignment_completeness)
    return out


def metric_value(metric: MetricValue) -> Json:
    """``{name, value}`` plus ``ci`` when bootstrapped."""
    out: Json = {"name": metric.name, "value": metric.value}
    if metric.ci is not None:
        out["ci"] = {"lower": metric.ci.lower, "upper": metric.ci.upper, "level": metric.ci.level}
    return out


def delta(d: MetricDelta) -> Json:
    """A baseline delta; relative_delta only when non-zero (Go omitempty)."""
    out: Json = {"name": d.name, "delta": d.delta, "before": d.before, "after": d.after}
    if d.relative_delta:
        out["relative_delta"] = d.relative_delta
    return out


def gate(g: GateResult) -> Json:
    """A gate result: metric, max_drop, delta, passed."""
    return {"metric": g.metric, "max_drop": g.max_drop, "delta": g.delta, "passed": g.passed}


def offline(
    result: OfflineResult, *, baseline_run_id: str | None, deltas: Sequence[MetricDelta]
) -> Json:
    """The offline section: metrics, by_segment and, with a baseline, its deltas."""
    out: Json = {
        "metrics": [metric_value(m) for m in result.metrics],
        "by_segment": {k: [metric_value(m) for m in v] for k, v in result.by_segment.items()},
    }
    if baseline_run_id is not None:
        out["baseline"] = {"baseline_run_id": baseline_run_id, "deltas": [delta(d) for d in deltas]}
    return out


def variant(stats: VariantStats, cuped: CupedResult | None = None) -> Json:
    """One variant row; throughput_rps only when non-zero; CUPED rates when enabled."""
    out: Json = {
        "variant": stats.variant,
        "exposures": stats.exposures,
        "clicks": stats.clicks,
        "conversions": stats.conversions,
        "ctr": stats.ctr,
        "conversion_rate": stats.conversion_rate,
        "revenue": stats.revenue,
        "revenue_per_request": stats.revenue_per_request,
    }
    if stats.throughput_rps:
        out["throughput_rps"] = stats.throughput_rps
    if cuped is not None and cuped.enabled:
        out["ctr_adjusted"] = cuped.ctr_adjusted.get(stats.variant, 0.0)
        out["conversion_rate_adjusted"] = cuped.conversion_rate_adjusted.get(stats.variant, 0.0)
    return out


def guardrail(g: GuardrailResult) -> Json:
    """One variant's guardrail values and pass flags."""
    return {
        "variant": g.variant,
        "latency_p95_ms": g.latency_p95_ms,
        "error_rate": g.error_rate,
        "empty_rate": g.empty_rate,
        "pass_latency": g.pass_latency,
        "pass_error_rate": g.pass_error_rate,
        "pass_empty_rate": g.pass_empty_rate,
    }


def significance(test: SignificanceTest) -> Json:
    """One z-test; ``segment`` only for per-segment tests."""
    out: Json = {
        "metric": test.metric,
        "variant": test.variant,
        "p_value": test.p_value,
        "adjusted_p_value": test.adjusted_p_value,
        "significant": test.significant,
        "primary": test.primary,
        "correction": test.correction,
    }
    if test.segment is not None:
        out["segment"] = test.segment
    return out


def srm_result(result: SRMResult) -> Json:
    """One SRM test: p_value, observed, expected, detected, sample_size."""
    return {
        "p_value": result.p_value,
        "observed": dict(result.observed),
        "expected": dict(result.expected),
        "detected": result.detected,
        "sample_size": result.sample_size,
    }


def srm(
    alpha: float, min_sample: int, overall: SRMResult, by_segment: Mapping[str, SRMResult]
) -> Json:
    """The srm block: alpha, min_sample, global and by_segment."""
    out: Json = {"alpha": alpha, "min_sample": min_sample, "global": srm_result(overall)}
    if by_segment:
        out["by_segment"] = {k: srm_result(v) for k, v in by_segment.items()}
    return out


def cuped(result: CupedResult) -> Json:
    """The cuped block: thetas and covariate coverage."""
    return {
        "enabled": result.enabled,
        "covariate_key": result.covariate_key,
        "theta_ctr": result.theta_ctr,
        "theta_conversion_rate": result.theta_conversion_rate,
        "coverage_rate": result.coverage_rate,
    }


def power(metric: str, result: PowerResult, config: Mapping[str, float]) -> Json:
    """The power block: inputs, sample size per variant and estimated days."""
    return {
        "metric": metric,
        **config,
        "sample_size_per_variant": result.sample_size_per_variant,
        "estimated_days": result.estimated_days,
    }


def estimate(e: Estimate) -> Json:
    """A point estimate with its CI bounds and level."""
    return {"value": e.value, "ci_lower": e.ci_lower, "ci_upper": e.ci_upper, "level": e.level}


def request_ctr(rates: Sequence[RequestCtr], lifts: Sequence[RequestCtrLift], level: float) -> Json:
    """Our per-request CTR block (experiment.request_ctr)."""
    return {
        "definition": "requests with >=1 click / requests (in [0,1]); delta-method CIs",
        "level": level,
        "variants": [
            {
                "variant": r.variant,
                "requests": r.requests,
                "clicked_requests": r.clicked_requests,
                **estimate(r.estimate),
            }
            for r in rates
        ],
        "lifts": [
            {
                "variant": lift.variant,
                "control": lift.control,
                "absolute": estimate(lift.absolute),
                **({"relative": estimate(lift.relative)} if lift.relative else {}),
            }
            for lift in lifts
        ],
    }


def decision_summary(d: Decision, artifact_path: str) -> Json:
    """The decision as echoed in the report (the artifact is a separate file)."""
    return {
        "decision": d.decision,
        "reason": d.reason,
        "control_variant": d.control_variant,
        "candidate_variant": d.candidate_variant,
        "artifact": artifact_path,
    }


def aa_check(result: AACheck) -> Json:
    """The aa_check block: counts per metric and threshold, uniformish."""
    return {
        "metrics": [
            {"metric": m.metric, "counts": m.counts, "by_segment": m.by_segment}
            for m in result.metrics
        ],
        "thresholds": list(result.thresholds),
        "total_tests": result.total_tests,
        "uniformish": result.uniformish,
    }


def ope(result: OPEResult) -> Json:
    """The ope block: unit, aggregation, estimators, weight_stats, diagnostics."""
    ws, dg = result.weight_stats, result.diagnostics
    return {
        "unit": result.unit,
        "reward_aggregation": result.reward_aggregation,
        "estimators": [
            {"name": e.name, "value": e.value, "variance": e.variance} for e in result.estimators
        ],
        "weight_stats": {
            "count": ws.count,
            "mean": ws.mean,
            "p95": ws.p95,
            "max": ws.max,
            "effective_sample_size": ws.effective_sample_size,
            "clipped_fraction": ws.clipped_fraction,
        },
        "diagnostics": {
            "missing_target_propensity": dg.missing_target_propensity,
            "near_zero_propensity": dg.near_zero_propensity,
            "total_items": dg.total_items,
        },
    }


def interleaving(result: InterleavingResult) -> Json:
    """The interleaving block (rankers are labelled "A" and "B")."""
    return {
        "algorithm": result.algorithm,
        "ranker_a": "A",
        "ranker_b": "B",
        "requests": result.requests,
        "wins_a": result.wins_a,
        "wins_b": result.wins_b,
        "ties": result.ties,
        "win_rate_a": result.win_rate_a,
        "win_rate_b": result.win_rate_b,
        "p_value": result.p_value,
    }


def executive(summary: Executive) -> Json:
    """summary.executive; empty lists are left out."""
    out: Json = {"decision": summary.decision}
    if summary.gate_failures:
        out["gate_failures"] = [gate(g) for g in summary.gate_failures]
    if summary.highlights:
        out["highlights"] = [{"name": n, "value": v} for n, v in summary.highlights]
    if summary.key_deltas:
        out["key_deltas"] = [delta(d) for d in summary.key_deltas]
    if summary.next_steps:
        out["next_steps"] = list(summary.next_steps)
    return out
