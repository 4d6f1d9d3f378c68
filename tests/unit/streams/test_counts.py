from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import Exposure, ExposureItem, Outcome
from streams.counts import (
    Tally,
    apply_tally,
    batch_counts,
    engaged_key,
    fold_json,
    merge_counts,
    shown_key,
)

TS = "2025-01-01T00:00:00Z"


def exposure(rid: str, items: list[str], tenant="t1", surface="home") -> Exposure:
    ctx = {"tenant": tenant, "surface": surface}
    return Exposure(rid, "u", TS, tuple(ExposureItem(i, n) for n, i in enumerate(items, 1)), ctx)


def outcome(rid: str, item: str) -> Outcome:
    return Outcome(rid, "u", item, "click", TS)


def test_apply_tally_skips_offsets_already_applied():
    first = apply_tally(None, 2, offset=5)
    assert first == Tally(2, 5)
    assert apply_tally(first, 1, offset=5) is None  # the same record again
    assert apply_tally(first, 1, offset=3) is None  # an older record
    assert apply_tally(first, 1, offset=6) == Tally(3, 6)


def test_tiny_dataset_counts_by_hand():
    records = [
        (0, 0, exposure("r1", ["i1", "i2", "i3"])),
        (1, 0, exposure("r2", ["i2", "i3", "i4"])),
        (1, 1, exposure("r3", [], surface="search")),
        (0, 0, outcome("r1", "i1")),
        (1, 0, outcome("r2", "i4")),
    ]
    shown, engaged = batch_counts(records)
    assert shown[shown_key(0, "t1", "home", "i2")] == 1
    assert shown[shown_key(1, "t1", "home", "i2")] == 1
    merged = merge_counts(shown.items(), engaged.items(), "t1", "home")
    assert merged == {"i1": (1, 1), "i2": (2, 0), "i3": (2, 0), "i4": (1, 1)}
    assert merge_counts(shown.items(), engaged.items(), "t1", "search") == {}
    assert engaged == {engaged_key(0, "i1"): 1, engaged_key(1, "i4"): 1}


def test_missing_context_counts_under_default_namespace():
    bare = Exposure("r", "u", TS, (ExposureItem("x", 1),))
    shown, _ = batch_counts([(0, 0, bare)])
    assert merge_counts(shown.items(), [], "default", "default") == {"x": (1, 0)}


ITEMS = st.sampled_from(["a", "b", "c", "d"])
EVENTS = st.one_of(
    st.lists(ITEMS, max_size=4).map(lambda xs: exposure("r", xs)),
    ITEMS.map(lambda i: outcome("r", i)),
)


@given(
    partitions=st.lists(st.lists(EVENTS, max_size=15), min_size=1, max_size=3),
    replays=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 15)), max_size=4),
)
def test_redelivered_prefixes_are_never_double_counted(partitions, replays):
    """At-least-once: replaying any prefix of a partition leaves the counts unchanged."""
    once = [(p, o, ev) for p, evs in enumerate(partitions) for o, ev in enumerate(evs)]
    with_replays = list(once)
    for p, upto in replays:
        if p < len(partitions):
            evs = partitions[p][:upto]
            with_replays += [(p, o, ev) for o, ev in enumerate(evs)]
    assert batch_counts(with_replays) == batch_counts(once)
    # And the counts are plain counts: items shown / engaged over all partitions.
    shown, engaged = batch_counts(once)
    expected_shown: Counter[str] = Counter()
    expected_engaged: Counter[str] = Counter()
    for _, _, ev in once:
        if isinstance(ev, Exposure):
            expected_shown.update(i.item_id for i in ev.items)
        else:
            expected_engaged[ev.item_id] += 1
    merged = merge_counts(shown.items(), engaged.items(), "t1", "home")
    assert {i: s for i, (s, _) in merged.items()} == dict(expected_shown)
    assert {i: e for i, (_, e) in merged.items()} == {i: expected_engaged[i] for i in merged}


@given(
    prev=st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.integers(-1, 10**6))),
    delta=st.integers(-5, 50),
    offset=st.integers(0, 10**6),
)
def test_fold_json_is_apply_tally_on_the_json(
    prev: tuple[int, int] | None, delta: int, offset: int
) -> None:
    raw = None if prev is None else [prev[0], prev[1]]
    expected = apply_tally(Tally.from_json(raw), delta, offset)
    got = fold_json(raw, delta, offset)
    assert got == (None if expected is None else expected.to_json())
