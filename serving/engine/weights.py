"""Blend weights and their resolution (spec §5.1).

1. start from the tenant config weights, clamped to ≥ 0;
2. no request weights and mode popularity/cooc/implicit → {pop 1, cooc 0, emb 0};
3. request weights replace the config (each given one), clamped to ≥ 0;
4. all three 0 → pop = 1.  Weights are not normalised.
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("blend", "popularity", "cooc", "implicit")


@dataclass(frozen=True, slots=True)
class Weights:
    pop: float = 1.0
    cooc: float = 0.0
    emb: float = 0.0


DEFAULT_WEIGHTS = Weights(1.0, 0.0, 0.0)


def normalize_mode(mode: str | None) -> str:
    """The algorithm mode; unknown or empty values become ``blend`` (as the original)."""
    mode = (mode or "").strip().lower()
    return mode if mode in MODES else "blend"


def resolve_weights(
    config: Weights | None,
    mode: str,
    request: tuple[float | None, float | None, float | None] | None,
) -> tuple[Weights, str]:
    """The weights to score with, and the model version (``popularity_v1``/``blend_v1``)."""
    base = config or DEFAULT_WEIGHTS
    pop, cooc, emb = max(base.pop, 0.0), max(base.cooc, 0.0), max(base.emb, 0.0)
    if request is None and mode != "blend":
        pop, cooc, emb = 1.0, 0.0, 0.0
    if request is not None:
        rp, rc, re = request
        pop = max(rp, 0.0) if rp is not None else pop
        cooc = max(rc, 0.0) if rc is not None else cooc
        emb = max(re, 0.0) if re is not None else emb
    if pop == 0 and cooc == 0 and emb == 0:
        pop = 1.0
    explicit = request is not None and (cooc > 0 or emb > 0)
    return Weights(pop, cooc, emb), "blend_v1" if explicit else "popularity_v1"
