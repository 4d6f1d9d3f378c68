"""Signal normalisation and the blended score (spec §5.4).

``norm_pos(s) = s / (s + 1)`` for s > 0, else 0 (popularity, co-visitation);
``norm_emb(s) = clamp(s, 0, 1)``; score = α·pop_norm + β·cooc_norm + γ·sim_norm.
Worked example of the original docs: α=1, β=0.5, γ=0.2, pop 3, cooc 1, emb 0.8 →
0.75 + 0.25 + 0.16 = 1.16.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from serving.engine.weights import Weights


def norm_pos(s: float) -> float:
    return 0.0 if s <= 0 else s / (s + 1.0)


def norm_emb(s: float) -> float:
    return min(max(s, 0.0), 1.0)


class Signals(NamedTuple):
    """Raw signal values of one candidate (0 when the signal has nothing for it).

    A NamedTuple rather than a frozen dataclass: one is built per candidate per request,
    and tuple construction is several times cheaper.
    """

    pop: float = 0.0
    cooc: float = 0.0
    emb: float = 0.0


@dataclass(frozen=True, slots=True)
class Contribution:
    """Weighted contributions α·pop_norm, β·cooc_norm, γ·sim_norm, and their sum."""

    pop: float
    cooc: float
    emb: float

    @property
    def total(self) -> float:
        return self.pop + self.cooc + self.emb


def blend(signals: Signals, weights: Weights) -> Contribution:
    return Contribution(
        weights.pop * norm_pos(signals.pop),
        weights.cooc * norm_pos(signals.cooc),
        weights.emb * norm_emb(signals.emb),
    )


def blend_score(signals: Signals, weights: Weights) -> float:
    """``blend(...).total`` without building the contribution (the hot path)."""
    pop, cooc = signals.pop, signals.cooc
    score = weights.pop * pop / (pop + 1.0) if pop > 0 else 0.0
    if cooc > 0:
        score += weights.cooc * cooc / (cooc + 1.0)
    if weights.emb and signals.emb > 0:
        score += weights.emb * norm_emb(signals.emb)
    return score


def normalized(signals: Signals) -> Contribution:
    """Unweighted normalised values (what explain shows when all contributions are 0)."""
    return Contribution(norm_pos(signals.pop), norm_pos(signals.cooc), norm_emb(signals.emb))


def blend_scores(pop: Mapping[str, float], cooc: Mapping[str, float],
                 weights: Weights) -> dict[str, float]:
    """``blend_score`` of every candidate (in ``pop``'s order), the same floats: the
    popularity term first, then the co-visitation term added for the candidates that
    have one. No embedding term: that view does not exist yet (``emb`` is 0)."""
    wp, wc = weights.pop, weights.cooc
    out = {item: wp * p / (p + 1.0) if p > 0 else 0.0 for item, p in pop.items()}
    if not blend_cooc(weights, cooc):
        return out
    for item in cooc.keys() & out.keys():
        c = cooc[item]
        if c > 0:
            out[item] += wc * c / (c + 1.0)
    return out


def blend_cooc(weights: Weights, cooc: Mapping[str, float]) -> bool:
    """Whether adding the co-visitation terms can change a score. Not when its weight is
    0, every term would be a zero (no inf count to make 0·inf a NaN) and every popularity
    term is ≥ +0.0 (no −0.0 to turn into +0.0)."""
    wp = weights.pop
    return not (weights.cooc == 0 and wp >= 0 and math.copysign(1.0, wp) > 0
                and math.isfinite(sum(cooc.values())))


def finite_score(score: float) -> float:
    """JSON has no inf/NaN: extreme weights or stacked boosts are clamped, NaN is 0."""
    if math.isfinite(score):
        return score
    return 0.0 if math.isnan(score) else math.copysign(sys.float_info.max, score)
