"""``mode: offline``: ranking metrics, slices, bootstrap, baseline deltas and gates."""

from __future__ import annotations

import numpy as np

from eval.baseline import compare, evaluate_gates
from eval.columnar.load import load_cases
from eval.columnar.offline import evaluate_columns
from eval.metrics.registry import CaseMetric, DatasetMetric
from eval.modes.context import RunContext, RunResult, joined_cases
from eval.offline import evaluate_offline, with_bootstrap
from eval.report import sections
from eval.report.envelope import envelope
from eval.summary import executive, offline_highlights


def run_offline(ctx: RunContext) -> RunResult:
    """Evaluate the configured metrics; exit 1 when a regression gate fails."""
    cfg = ctx.config.offline
    specs = ctx.config.metric_specs()
    warnings: list[str] = []
    boot = cfg.bootstrap
    if ctx.stream:
        cases, tally, _span = joined_cases(ctx, window=ctx.config.test_window())
        result = evaluate_offline(cases, specs, cfg.slice_keys, dataset_level=False)
    else:  # memory mode: the columnar twin of joined_cases + evaluate_offline
        loaded = load_cases(
            ctx.dataset, cfg.slice_keys, window=ctx.config.test_window(), progress=ctx.progress
        )
        tally = loaded.tally
        result = evaluate_columns(
            loaded.cases,
            specs,
            sorted(cfg.slice_keys),
            loaded.slice_values,
            keep_case_values=boot.enabled,
        )
    if ctx.stream and any(isinstance(s.definition, DatasetMetric) for s in specs):
        warnings.append("dataset_metrics_skipped_in_stream_mode")
    if boot.enabled and ctx.stream:
        warnings.append("bootstrap_skipped_in_stream_mode")
    elif boot.enabled:
        rngs = {
            index: np.random.default_rng(boot.seed + index)
            for index, spec in enumerate(specs)
            if isinstance(spec.definition, CaseMetric)
        }
        result = with_bootstrap(
            result, specs, iterations=boot.iterations, level=boot.ci_level, rng_for_metric=rngs
        )
    quality = tally.result()
    deltas = compare(result.metrics, ctx.baseline) if ctx.baseline is not None else ()
    gates = evaluate_gates([(g.metric, g.max_drop) for g in cfg.gates], deltas)
    summary = executive(
        mode="offline",
        cases=result.cases,
        gates=gates,
        highlights=offline_highlights(result.metrics),
        deltas=deltas,
        has_baseline=ctx.baseline is not None,
        outcome_join_rate=quality.join_integrity.outcome_join_rate,
    )
    report = envelope(
        "offline",
        ctx.meta,
        cases=result.cases,
        executive=sections.executive(summary),
        sections={
            "offline": sections.offline(
                result,
                baseline_run_id=ctx.baseline.run_id if ctx.baseline else None,
                deltas=deltas,
            ),
            "data_quality": sections.data_quality(quality),
            "gates": [sections.gate(g) for g in gates] if gates else None,
        },
        warnings=warnings,
    )
    return RunResult(report, exit_code=1 if any(not g.passed for g in gates) else 0)
