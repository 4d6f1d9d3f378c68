"""Reason tokens and the explain block of a returned item (spec §4.3).

Reasons: ``recent_popularity`` when popularity contributed, ``co_visitation`` when
co-visitation did, ``diversity`` when MMR or caps were on, then the ``rule.*`` tokens
in the order the rules fired. Explain ``signals`` are the weighted contributions
(α·pop_norm, β·cooc_norm, γ·sim_norm), or the normalised values when all three are 0;
``rules`` carries the rule tokens only when reasons were asked for too. ``full`` adds
the raw signal values and the anchors used.
"""

from __future__ import annotations

from typing import Any

from serving.engine.scoring import Contribution, Signals, blend, normalized
from serving.engine.weights import Weights


def reason_tokens(
    signals: Signals, weights: Weights, rule_tokens: list[str], diversity: bool
) -> tuple[str, ...]:
    c = blend(signals, weights)
    out = []
    if c.pop > 0:
        out.append("recent_popularity")
    if c.cooc > 0:
        out.append("co_visitation")
    if c.emb > 0:
        out.append("embedding_similarity")
    if diversity:
        out.append("diversity")
    return tuple(out + rule_tokens)


def _rounded(c: Contribution) -> dict[str, float]:
    return {"pop": c.pop, "cooc": c.cooc, "emb": c.emb}


def explain_block(
    level: str,
    signals: Signals,
    weights: Weights,
    rule_tokens: list[str],
    include_reasons: bool,
    anchors: tuple[str, ...],
) -> dict[str, Any] | None:
    if level == "none":
        return None
    c = blend(signals, weights)
    shown = c if c.total > 0 else normalized(signals)
    doc: dict[str, Any] = {"signals": _rounded(shown)}
    if include_reasons and rule_tokens:
        doc["rules"] = list(rule_tokens)
    if level == "full":
        doc["raw"] = {"pop": signals.pop, "cooc": signals.cooc, "emb": signals.emb}
        doc["anchors"] = list(anchors)
    return doc
