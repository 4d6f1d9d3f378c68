"""Normalisation, blending and weight resolution (spec §5.1, §5.4)."""

from __future__ import annotations

import pytest

from serving.engine.scoring import Signals, blend, norm_emb, norm_pos
from serving.engine.warnings import ServingWarning, ordered
from serving.engine.weights import Weights, normalize_mode, resolve_weights


def test_docs_worked_example_1_16():
    # α=1, β=0.5, γ=0.2; pop 3 → 0.75, cooc 1 → 0.5·0.5, emb 0.8 → 0.2·0.8
    c = blend(Signals(pop=3, cooc=1, emb=0.8), Weights(1, 0.5, 0.2))
    assert (c.pop, c.cooc, c.emb) == pytest.approx((0.75, 0.25, 0.16))
    assert c.total == pytest.approx(1.16)


def test_norms():
    assert [norm_pos(s) for s in (-1, 0, 1, 3)] == [0, 0, 0.5, 0.75]
    assert [norm_emb(s) for s in (-0.5, 0.3, 7)] == [0, 0.3, 1]


RESOLVE = [
    (None, "blend", None, Weights(1, 0, 0), "popularity_v1"),
    (Weights(1, 0.5, 0), "blend", None, Weights(1, 0.5, 0), "popularity_v1"),
    (Weights(1, 0.5, 0), "cooc", None, Weights(1, 0, 0), "popularity_v1"),
    (Weights(1, 0.5, 0), "cooc", (None, 2.0, None), Weights(1, 2, 0), "blend_v1"),
    (Weights(-1, -1, -1), "blend", None, Weights(1, 0, 0), "popularity_v1"),
    (None, "blend", (0.0, 0.0, 0.0), Weights(1, 0, 0), "popularity_v1"),
    (None, "blend", (2.0, None, None), Weights(2, 0, 0), "popularity_v1"),
    (None, "popularity", (0.5, 0.0, 0.3), Weights(0.5, 0, 0.3), "blend_v1"),
]


@pytest.mark.parametrize(("config", "mode", "request_w", "expected", "model"), RESOLVE)
def test_weight_resolution(config: Weights | None, mode: str,
                           request_w: tuple[float | None, float | None, float | None] | None,
                           expected: Weights, model: str) -> None:
    assert resolve_weights(config, mode, request_w) == (expected, model)


def test_modes_and_warning_order():
    assert [normalize_mode(m) for m in ("COOC", "", None, "x")] == ["cooc", "blend", "blend",
                                                                   "blend"]
    ws = [ServingWarning("CONSTRAINTS_FILTERED", "1"), ServingWarning("SIGNAL_UNAVAILABLE", "b"),
          ServingWarning("DEFAULT_APPLIED", "k"), ServingWarning("SIGNAL_UNAVAILABLE", "a"),
          ServingWarning("DEFAULT_APPLIED", "k")]
    assert [(w.code, w.detail) for w in ordered(ws)] == [
        ("DEFAULT_APPLIED", "k"), ("SIGNAL_UNAVAILABLE", "b"), ("SIGNAL_UNAVAILABLE", "a"),
        ("CONSTRAINTS_FILTERED", "1")]
    # no warning or one (the usual response): a tuple of them, from any iterable
    assert ordered(iter([])) == () and ordered(iter(ws[:1])) == (ws[0],)
    assert ordered([ws[2], ws[4]]) == (ws[2],)  # two equal ones: the duplicate dropped
    with pytest.raises(ValueError, match="unknown warning code"):
        ServingWarning("NOPE", "")


def test_fast_ranked_items_equal_the_frozen_constructor() -> None:
    import dataclasses

    import pytest

    from serving.engine.model import RankedItem, ranked_item

    built = ranked_item("i1", 3, 0.25, True)
    assert type(built) is RankedItem
    assert built == RankedItem("i1", 3, 0.25, True)
    assert hash(built) == hash(RankedItem("i1", 3, 0.25, True))
    assert built.reasons is None and built.explain is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.rank = 1  # type: ignore[misc]
