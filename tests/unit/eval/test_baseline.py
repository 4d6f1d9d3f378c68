"""Why a regression gate failed, as the stderr message says it (spec §3.4: a gate whose
metric has no delta fails; the message tells which of the reasons applies)."""

from __future__ import annotations

import pytest

from eval.baseline import Baseline, GateResult, gate_failure_reason

BASELINE = Baseline(run_id="offline-1", metrics={"precision@2": 0.5})


@pytest.mark.parametrize(
    ("gate", "baseline", "reason"),
    [
        (
            GateResult("ndcg@10", 0.01, 0.0, False),
            BASELINE,
            "ndcg@10 (not among this run's metrics)",
        ),
        (
            GateResult("precision@2", 0.01, 0.0, False),
            None,
            "precision@2 (no baseline to compare with: pass --baseline)",
        ),
        (
            GateResult("recall@2", 0.01, 0.0, False),
            BASELINE,
            "recall@2 (missing from the baseline report)",
        ),
        (  # names match case-insensitively; 0.5 → 0.25 is a drop of 0.25
            GateResult("PRECISION@2", 0.1, -0.25, False),
            BASELINE,
            "PRECISION@2 (dropped 0.25, max_drop 0.1)",
        ),
    ],
)
def test_gate_failure_reason(gate: GateResult, baseline: Baseline | None, reason: str) -> None:
    assert gate_failure_reason(gate, ["precision@2", "recall@2"], baseline) == reason
