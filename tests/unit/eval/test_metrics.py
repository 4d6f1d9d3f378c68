"""Ranking metrics against hand-derived values (spec §3.4) and their invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.errors import UnknownMetricError
from eval.join import Case
from eval.metrics import ranking
from eval.metrics.batch import BATCH, HitMatrix
from eval.metrics.distribution import DistributionTally, coverage, diversity, novelty
from eval.metrics.registry import METRICS, CaseMetric, MetricSpec, resolve
from eval.offline import ALL_SEGMENT, evaluate_offline, segment_key
from eval.records import Exposure, ExposureItem, Outcome

REC = ("i1", "i2", "i3")
REL = frozenset({"i1", "i3"})


def test_the_originals_unit_vector() -> None:
    """rec [i1,i2,i3], rel {i1,i3}: the values quoted in the spec's unit test."""
    assert ranking.precision(REC, REL, 2) == 0.5  # 1 hit of 2
    assert ranking.recall(REC, REL, 2) == 0.5  # 1 of 2 relevant
    # AP@3 = (1/1 + 2/3) / min(2, 3) = 0.8333…
    assert ranking.average_precision(REC, REL, 3) == pytest.approx((1 + 2 / 3) / 2)
    assert round(ranking.average_precision(REC, REL, 3), 4) == 0.8333
    # nDCG@3 = (1 + 1/log2 4) / (1 + 1/log2 3) = 0.9197
    assert ranking.ndcg(REC, REL, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert round(ranking.ndcg(REC, REL, 3), 4) == 0.9197
    assert ranking.hitrate(REC, REL, 1) == 1.0


def test_precision_divides_by_the_list_length_when_shorter_than_k() -> None:
    """Quirk kept: one relevant item in a one-item list is precision@10 = 1, not 0.1."""
    assert ranking.precision(("a",), frozenset({"a"}), 10) == 1.0


def test_empty_list_and_empty_relevance_score_zero() -> None:
    for fn in (
        ranking.precision,
        ranking.recall,
        ranking.hitrate,
        ranking.average_precision,
        ranking.ndcg,
    ):
        assert fn((), frozenset({"a"}), 3) == 0.0
        assert fn(("a", "b"), frozenset(), 3) == 0.0


def test_map_normalises_by_min_of_relevant_and_k() -> None:
    rel = frozenset({"c", "x", "y"})
    assert ranking.average_precision(("a", "b", "c"), rel, 2) == 0.0  # c is beyond k
    # hit at position 3: (1/3) / min(3, 3)
    assert ranking.average_precision(("a", "b", "c"), rel, 3) == pytest.approx(1 / 9)


def test_ndcg_ideal_uses_min_of_relevant_and_k_even_past_the_list() -> None:
    # DCG = 1; IDCG = 1 + 1/log2(3) because |rel| = 2 ≤ k = 5, although the list has 1 item.
    assert ranking.ndcg(("a",), frozenset({"a", "b"}), 5) == pytest.approx(
        1 / (1 + 1 / math.log2(3))
    )


def _tally(lists: list[tuple[str, ...]], relevant: set[str], k: int) -> DistributionTally:
    tally = DistributionTally([k])
    for index, rec in enumerate(lists):
        tally.add(rec, frozenset(relevant) if index == 0 else frozenset())
    return tally


def test_dataset_metrics_by_hand() -> None:
    # lists [a,b,c] and [a,d]; relevant {e}; k = 2 → top-k entries a, b, a, d.
    tally = _tally([("a", "b", "c"), ("a", "d")], {"e"}, 2)
    # coverage: {a,b,d} of {a,b,c,d,e}
    assert coverage(tally, 2) == pytest.approx(3 / 5)
    # novelty: pop from full lists (a 2/5, b 1/5, d 1/5), mean −log2 over a, b, a, d
    expected = (2 * -math.log2(2 / 5) + 2 * -math.log2(1 / 5)) / 4
    assert novelty(tally, 2) == pytest.approx(expected)
    # diversity: entropy of (2, 1, 1)/4 = 1.5 bits, normalised by log2(3)
    assert diversity(tally, 2) == pytest.approx(1.5 / math.log2(3))


def test_diversity_of_a_single_item_is_zero() -> None:
    assert diversity(_tally([("a",), ("a",)], set(), 3), 3) == 0.0


def test_registry_is_case_insensitive_and_lists_known_names() -> None:
    assert resolve("NDCG") == "ndcg"
    with pytest.raises(UnknownMetricError, match=r"unknown metric 'mrr' \(known metrics: "):
        resolve("mrr")  # referenced by the original's highlight list, never implemented
    assert set(METRICS) == {
        "precision",
        "recall",
        "map",
        "ndcg",
        "hitrate",
        "coverage",
        "novelty",
        "diversity",
    }


items = st.lists(st.sampled_from("abcdefgh"), max_size=8, unique=True).map(tuple)


@settings(database=None)  # no example database inside the repo
@given(rec=items, rel=st.frozensets(st.sampled_from("abcdefghij")), k=st.integers(1, 10))
def test_per_case_metrics_lie_in_unit_interval(
    rec: tuple[str, ...], rel: frozenset[str], k: int
) -> None:
    for name, definition in METRICS.items():
        if isinstance(definition, CaseMetric):
            value = definition.fn(rec, rel, k)
            assert 0.0 <= value <= 1.0 + 1e-12, name


def _case(rid: str, items_: tuple[str, ...], clicked: tuple[str, ...], **context: str) -> Case:
    exposure = Exposure.of(
        rid,
        "u",
        None,
        tuple(ExposureItem(item, rank) for rank, item in reversed(list(enumerate(items_, 1)))),
        context,
    )
    outcomes = tuple(Outcome(rid, "u", item, "CLICK", None) for item in clicked)
    return Case(exposure, outcomes)


def test_offline_averages_over_all_cases_and_slices() -> None:
    cases = [
        _case("r1", ("a", "b"), ("a",), tenant="t1"),
        _case("r2", ("c",), (), tenant="t2"),
        _case("r3", (), ("z",), tenant="t1"),  # empty list, relevant item never shown
    ]
    specs = [MetricSpec("precision", 2), MetricSpec("coverage", 2)]
    result = evaluate_offline(cases, specs, ["tenant"])
    assert result.cases == 3
    # precision: 1/2, 0, 0 averaged over 3 cases (ranks are sorted even if items arrive reversed)
    assert result.metrics[0].value == pytest.approx(1 / 6)
    # coverage: top-2 {a,b,c} over {a,b,c} ∪ relevant {a,z}
    assert result.metrics[1].value == pytest.approx(3 / 4)
    assert list(result.by_segment) == ["tenant=t1", "tenant=t2"]
    assert result.by_segment["tenant=t1"][0].value == pytest.approx(1 / 4)
    assert result.by_segment["tenant=t1"][1].value == pytest.approx(2 / 3)  # {a,b} of {a,b,z}


def test_stream_evaluation_leaves_out_dataset_metrics() -> None:
    specs = [MetricSpec("recall", 5), MetricSpec("novelty", 5)]
    result = evaluate_offline([_case("r1", ("a",), ("a",))], specs, [], dataset_level=False)
    assert [m.name for m in result.metrics] == ["recall@5"]
    assert list(result.by_segment) == [ALL_SEGMENT]


def test_segment_key_is_sorted_pairs() -> None:
    assert segment_key({"tenant": "t1", "surface": "home"}, ["tenant", "surface"]) == (
        "surface=home|tenant=t1"
    )
    assert segment_key({"tenant": "t1"}, []) == "__all__"
    assert segment_key({}, ["device"]) == "device="


ranked_lists = st.lists(st.sampled_from("abcdefgh"), max_size=8).map(tuple)  # repeats allowed


@settings(database=None)  # no example database inside the repo
@given(
    cases=st.lists(
        st.tuples(ranked_lists, st.frozensets(st.sampled_from("abcdefghij"))), max_size=12
    ),
    k=st.integers(1, 10) | st.just(10**12),  # a huge k reads as the whole list
)
def test_batch_twins_are_bit_identical_to_the_definitions(
    cases: list[tuple[tuple[str, ...], frozenset[str]]], k: int
) -> None:
    width = 10
    flags = bytearray()
    for rec, rel in cases:
        flags += bytes([item in rel for item in rec[:width]])
    lengths, relevant = [len(r) for r, _ in cases], [len(s) for _, s in cases]
    matrix = HitMatrix.from_tops(flags, lengths, relevant, width)
    for name, batch_fn in BATCH.items():
        definition = METRICS[name]
        assert isinstance(definition, CaseMetric)
        expected = [definition.fn(rec, rel, k) for rec, rel in cases]
        assert batch_fn(matrix, k).tolist() == expected, name  # exact, not approx
