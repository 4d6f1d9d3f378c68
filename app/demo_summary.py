"""The one-line live summary ``recsys up --demo`` prints: pure, from the live documents.

    live 35s: 212 ev/s | join 97.1% | A ctr 0.041 ± 0.006 (1204 req)  B ctr 0.067 ± 0.008
    (1187 req)  p=0.0003 | SRM ok (p=0.62)

events/s is the change of (exposures + outcomes) in the overview between two calls;
"join" is the overview's outcome join rate; per arm the live per-request CTR with the
half-width of its confidence interval; ``p`` is the primary metric's adjusted p-value
of the treatment arm; SRM is "ok", "ALARM" or "n/a" (too few assignments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Rate:
    """Remembers the last (time, events) to turn totals into events/s."""

    last_t: float | None = None
    last_n: int = 0

    def update(self, t: float, n: int) -> float:
        rate = 0.0
        if self.last_t is not None and t > self.last_t:
            rate = max(n - self.last_n, 0) / (t - self.last_t)
        self.last_t, self.last_n = t, n
        return rate


def _arm(row: dict[str, Any]) -> str:
    ctr = float(row.get("per_request_ctr", row.get("ctr", 0.0)) or 0.0)
    ci = row.get("per_request_ctr_ci")
    half = f" ± {(float(ci[1]) - float(ci[0])) / 2:.3f}" if ci and None not in ci else ""
    return f"{row.get('variant')} ctr {ctr:.3f}{half} ({int(row.get('exposures', 0))} req)"


def _p_value(experiment: dict[str, Any]) -> str:
    tests = [
        t
        for t in experiment.get("significance", [])
        if t.get("primary") and "segment" not in t and t.get("adjusted_p_value") is not None
    ]
    if not tests:
        return ""
    best = min(tests, key=lambda t: float(t["adjusted_p_value"]))
    star = " *" if best.get("significant") else ""
    p = float(best["adjusted_p_value"])
    return f"  p={p:.4f}{star}" if p >= 0.001 else f"  p={p:.1e}{star}"


def _srm(experiment: dict[str, Any]) -> str:
    srm = experiment.get("srm") or {}
    p = srm.get("p_value")
    if p is None:
        return "SRM n/a"
    n, needed = (srm.get("global") or {}).get("sample_size"), srm.get("min_sample")
    if isinstance(n, int) and isinstance(needed, int) and n < needed:
        return f"SRM n/a ({n} of {needed} assignments)"  # too few to test
    return f"SRM {'ALARM' if srm.get('alarm') else 'ok'} (p={float(p):.3f})"


def summary_line(
    t: float,
    elapsed_s: float,
    overview: dict[str, Any],
    experiment: dict[str, Any] | None,
    rate: Rate,
) -> str:
    totals = overview.get("totals", {})
    events = int(totals.get("exposures", 0)) + int(totals.get("outcomes", 0))
    parts = [
        f"live {elapsed_s:.0f}s: {rate.update(t, events):.0f} ev/s",
        f"join {float(totals.get('outcome_join_rate', 0.0)):.1%}",
    ]
    if experiment is None:
        parts.append("experiment: no data yet")
    else:
        arms = "  ".join(_arm(r) for r in experiment.get("variants", []))
        parts.append((arms or "no arms yet") + _p_value(experiment))
        parts.append(_srm(experiment))
    return " | ".join(parts)
