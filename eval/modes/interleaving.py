"""``mode: interleaving``: simulate the interleaved lists and count wins per ranker."""

from __future__ import annotations

import numpy as np

from eval.interleaving import evaluate_interleaving
from eval.modes.context import RunContext, RunResult
from eval.records import outcome_from_json, ranklist_from_json
from eval.report import sections
from eval.report.envelope import envelope
from eval.sources import open_source
from eval.summary import executive
from schemas.errors import ConfigError


def run_interleaving(ctx: RunContext) -> RunResult:
    """Team-draft / balanced / optimized interleaving with a seeded numpy RNG."""
    sources = ctx.dataset.interleaving
    if sources is None:
        raise ConfigError(
            "mode interleaving needs an 'interleaving' block (ranker_a, ranker_b, outcomes)"
        )
    cfg = ctx.config.interleaving
    result = evaluate_interleaving(
        open_source(sources.ranker_a, "interleaving.ranker_a", ranklist_from_json, ctx.progress),
        open_source(sources.ranker_b, "interleaving.ranker_b", ranklist_from_json, ctx.progress),
        open_source(sources.outcomes, "interleaving.outcomes", outcome_from_json, ctx.progress),
        algorithm=cfg.algorithm,
        max_results=cfg.max_results,
        rng=np.random.default_rng(cfg.seed),
    )
    summary = executive(mode="interleaving", cases=result.requests)
    report = envelope(
        "interleaving",
        ctx.meta,
        cases=result.requests,
        executive=sections.executive(summary),
        sections={"interleaving": sections.interleaving(result)},
        warnings=[],
    )
    return RunResult(report)
