"""``mode: ope``: IPS / SNIPS / DR over logged propensities (memory mode only)."""

from __future__ import annotations

from eval.join import JoinTally, join_memory
from eval.modes.context import RunContext, RunResult, exposures_source, outcomes_source
from eval.ope import evaluate_ope
from eval.report import sections
from eval.report.envelope import envelope
from eval.sources import read_all
from eval.summary import executive
from schemas.errors import ConfigError


def run_ope(ctx: RunContext) -> RunResult:
    """Estimate the target policy's value from the logged exposures and outcomes."""
    if ctx.stream:
        raise ConfigError("mode ope is not supported with scale.mode stream (use memory)")
    exposures = read_all(exposures_source(ctx))
    outcomes = read_all(outcomes_source(ctx))
    tally = JoinTally()
    cases = join_memory(exposures, outcomes, tally)
    result = evaluate_ope(cases, outcomes, ctx.config.ope)
    quality = tally.result()
    summary = executive(
        mode="ope",
        cases=result.samples,
        outcome_join_rate=quality.join_integrity.outcome_join_rate,
    )
    report = envelope(
        "ope",
        ctx.meta,
        cases=result.samples,
        executive=sections.executive(summary),
        sections={"ope": sections.ope(result), "data_quality": sections.data_quality(quality)},
        warnings=list(result.warnings),
    )
    return RunResult(report)
