"""``mode: experiment`` and ``mode: aa-check``: per-variant analysis of assigned cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.aacheck import aa_check
from eval.cuped_analysis import cuped
from eval.decision import Decision, choose_candidate, decide
from eval.experiment import (
    SignificanceTest,
    VariantStats,
    assignments_by_request,
    choose_control,
    guardrails,
    segment_stats,
    significance,
    variant_stats,
)
from eval.join import Case, Completeness, DataQuality
from eval.modes.context import RunContext, RunResult, TimeRange, joined_cases
from eval.offline import segment_key
from eval.records import Assignment, assignment_from_json
from eval.report import sections
from eval.report.envelope import envelope
from eval.request_ctr import request_ctr
from eval.sources import open_source, read_all
from eval.stats.power import sample_size
from eval.stats.srm import SRMResult, srm_test
from eval.summary import executive
from eval.timeparse import format_rfc3339


@dataclass(frozen=True)
class _Analysis:
    assigned: list[tuple[str, Case]]
    records: list[Assignment]  # filtered, not deduped (SRM input)
    quality: DataQuality
    variants: tuple[VariantStats, ...]
    by_segment: dict[str, tuple[VariantStats, ...]]
    control: str
    tests: tuple[SignificanceTest, ...]
    span: TimeRange


def _analyse(ctx: RunContext) -> _Analysis:
    cfg = ctx.config.experiment
    experiment_id = ctx.experiment_id or cfg.experiment_id
    raw = read_all(
        open_source(ctx.dataset.assignments, "assignments", assignment_from_json, ctx.progress)
    )
    by_request, total, missing = assignments_by_request(raw, experiment_id)
    wanted = experiment_id.lower()
    records = [
        a
        for a in raw
        if a.request_id and a.variant and (not wanted or a.experiment_id.lower() == wanted)
    ]
    cases, tally, span = joined_cases(ctx)
    assigned: list[tuple[str, Case]] = []
    assigned_exposures = 0
    for case in cases:
        found = by_request.get(case.exposure.request_id)
        if found is not None:
            assigned.append((found.variant, case))
            assigned_exposures += 1
        elif cfg.context_variant_fallback and (variant := _context_variant(case, wanted)):
            assigned.append((variant, case))
    quality = tally.result(
        assignments=Completeness(total, missing),
        assignments_count=len(by_request),
        assigned_exposures=assigned_exposures,
    )
    variants = variant_stats(assigned)
    by_segment = segment_stats(assigned, cfg.slice_keys)
    control = choose_control(variants, cfg.control_variant)
    tests = significance(
        variants,
        by_segment,
        control=control,
        primary_metrics=cfg.primary_metrics,
        method=cfg.multiple_comparisons.method,
        alpha=cfg.multiple_comparisons.alpha,
    )
    return _Analysis(assigned, records, quality, variants, by_segment, control, tests, span)


def _context_variant(case: Case, wanted: str) -> str | None:
    """``context_variant_fallback``: the exposure context's ``experiment_variant`` when its
    ``experiment_id`` matches (any id when none is configured), unless the client chose
    it (``experiment_preview``: a preview, as the live join leaves it out too)."""
    context = case.exposure.context
    variant, experiment = context.get("experiment_variant", ""), context.get("experiment_id", "")
    if not variant or not experiment or (wanted and experiment.lower() != wanted):
        return None
    if context.get("experiment_preview") == "true":
        return None
    return variant


def _srm(ctx: RunContext, records: Sequence[Assignment]) -> tuple[SRMResult, dict[str, SRMResult]]:
    cfg = ctx.config.experiment.srm
    expected = dict(cfg.expected) or None

    def test(group: Sequence[Assignment]) -> SRMResult:
        counts: dict[str, int] = {}
        for a in group:
            counts[a.variant] = counts.get(a.variant, 0) + 1
        return srm_test(
            counts, alpha=cfg.alpha, min_sample=cfg.min_sample, expected_ratios=expected
        )

    segments: dict[str, list[Assignment]] = {}
    if cfg.slice_keys:
        for a in records:
            segments.setdefault(segment_key(a.context, cfg.slice_keys), []).append(a)
    return test(records), {k: test(segments[k]) for k in sorted(segments)}


def _decision_artifact(ctx: RunContext, d: Decision, span: TimeRange) -> dict[str, Any]:
    artifact: dict[str, Any] = {
        "decision": d.decision,
        "reason": d.reason,
        "control_variant": d.control_variant,
        "candidate_variant": d.candidate_variant,
        "primary_metrics": [
            {
                "metric": c.metric,
                "control": c.control,
                "candidate": c.candidate,
                "delta": c.delta,
                "threshold": c.threshold,
                "passed": c.passed,
            }
            for c in d.primary_metrics
        ],
        "guardrails": [sections.guardrail(d.guardrail)] if d.guardrail else [],
        "thresholds": dict(d.thresholds),
        "versions": {"binary_version": ctx.meta.binary_version, "git_commit": ctx.meta.git_commit},
    }
    if span.first is not None and span.last is not None:
        artifact["dataset_window"] = {
            "start": format_rfc3339(span.first),
            "end": format_rfc3339(span.last),
        }
    if d.srm is not None:
        artifact["srm"] = {
            "detected": d.srm.detected,
            "p_value": d.srm.p_value,
            "alpha": d.srm_alpha,
        }
    return artifact


def run_experiment(ctx: RunContext) -> RunResult:
    """Variants, guardrails, tests and the optional extras; exit 0/2/3 from the decision."""
    cfg = ctx.config.experiment
    a = _analyse(ctx)
    cuped_result = cuped(a.assigned, cfg.cuped.covariate_key) if cfg.cuped.enabled else None
    guard = guardrails(
        a.assigned,
        max_latency_p95_ms=cfg.guardrails.max_latency_p95_ms,
        max_error_rate=cfg.guardrails.max_error_rate,
        max_empty_rate=cfg.guardrails.max_empty_rate,
    )
    section: dict[str, Any] = {
        "experiment_id": ctx.experiment_id or cfg.experiment_id,
        "variants": [sections.variant(v, cuped_result) for v in a.variants],
        "guardrails": {"per_variant": [sections.guardrail(g) for g in guard]},
        "significance": [sections.significance(t) for t in a.tests],
    }
    if a.by_segment:
        section["by_segment"] = {
            k: [sections.variant(v) for v in vs] for k, vs in a.by_segment.items()
        }
    if cuped_result is not None:
        section["cuped"] = sections.cuped(cuped_result)
    power = cfg.power
    if power.baseline_rate > 0 and power.mde > 0:
        result = sample_size(
            power.baseline_rate,
            power.mde,
            alpha=power.alpha,
            power=power.power,
            daily_samples=power.daily_samples,
        )
        section["power"] = sections.power(
            power.metric,
            result,
            {
                "baseline_rate": power.baseline_rate,
                "mde": power.mde,
                "alpha": power.alpha,
                "power": power.power,
                "daily_samples": power.daily_samples,
            },
        )
    srm_global: SRMResult | None = None
    if cfg.srm.enabled:
        srm_global, srm_segments = _srm(ctx, a.records)
        section["srm"] = sections.srm(cfg.srm.alpha, cfg.srm.min_sample, srm_global, srm_segments)
    if cfg.request_ctr.enabled:
        rates, lifts = request_ctr(a.variants, a.control, cfg.request_ctr.ci_level)
        section["request_ctr"] = sections.request_ctr(rates, lifts, cfg.request_ctr.ci_level)
    warnings: list[str] = []
    if cfg.aa_check.enabled:
        check = aa_check(a.tests, cfg.aa_check.thresholds)
        section["aa_check"] = sections.aa_check(check)
        if not check.uniformish:
            warnings.append("aa_check_false_positives")
    exit_code = 0
    extra: dict[str, Any] = {}
    if cfg.decision.enabled:
        verdict = decide(
            a.variants,
            guard,
            control=a.control,
            candidate=choose_candidate(a.variants, a.control, cfg.decision.candidate_variant),
            primary_metrics=cfg.primary_metrics,
            thresholds=cfg.decision.primary_thresholds,
            guardrail_gate=cfg.decision.guardrail_gate,
            srm=srm_global,
            srm_gate=cfg.decision.srm_gate or cfg.srm.gate_enabled,
            srm_alpha=cfg.srm.alpha,
        )
        path = cfg.decision.output_path or f"{ctx.output}.decision.json"
        extra[path] = _decision_artifact(ctx, verdict, a.span)
        section["decision"] = sections.decision_summary(verdict, path)
        exit_code = verdict.exit_code
    busiest = max(a.variants, key=lambda v: v.exposures) if a.variants else None
    summary = executive(
        mode="experiment",
        cases=len(a.assigned),
        highlights=(
            [
                ("ctr", busiest.ctr),
                ("conversion_rate", busiest.conversion_rate),
                ("revenue_per_request", busiest.revenue_per_request),
            ]
            if busiest
            else []
        ),
        outcome_join_rate=a.quality.join_integrity.outcome_join_rate,
        variants=len(a.variants),
    )
    report = envelope(
        "experiment",
        ctx.meta,
        cases=len(a.assigned),
        executive=sections.executive(summary),
        sections={"experiment": section, "data_quality": sections.data_quality(a.quality)},
        warnings=warnings,
    )
    return RunResult(report, exit_code=exit_code, extra_files=extra)


def run_aa_check(ctx: RunContext) -> RunResult:
    """A/A check: are the p-values between arms that should not differ uniform?"""
    a = _analyse(ctx)
    check = aa_check(a.tests, ctx.config.experiment.aa_check.thresholds)
    summary = executive(
        mode="aa-check",
        cases=len(a.assigned),
        outcome_join_rate=a.quality.join_integrity.outcome_join_rate,
        variants=len(a.variants),
    )
    report = envelope(
        "aa-check",
        ctx.meta,
        cases=len(a.assigned),
        executive=sections.executive(summary),
        sections={
            "aa_check": sections.aa_check(check),
            "data_quality": sections.data_quality(a.quality),
        },
        warnings=[] if check.uniformish else ["aa_check_false_positives"],
    )
    return RunResult(report)
