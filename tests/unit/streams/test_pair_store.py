"""``PairMap`` behaves as the dict it replaces, and its Faust store recovers and drops
partitions the way Faust's memory store does."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.keys import join_key
from streams.pair_store import COUNT_MASK, PairMap
from streams.stores import MEMORY_STORE_URL, PAIR_STORE_URL, PairTableStore, TrackedStore, register
from streams.view_index import ViewIndex

ITEMS = st.sampled_from(["a", "b", "c", "d"])
PAIR_KEYS = st.builds(
    lambda t, s, a, b: join_key("c", t, s, a, b), st.sampled_from(["t1", "t2"]),
    st.sampled_from(["home", "pdp"]), ITEMS, ITEMS,
)
OTHER_KEYS = st.sampled_from(
    [join_key("p", "t1", "home", "a"), "~mark0/user/1", "c", join_key("c", "t1", "x"), "c\x1f"]
)
VALUES = st.one_of(
    st.tuples(st.integers(0, COUNT_MASK + 2), st.integers(-1, 1 << 62)).map(list),
    st.lists(st.integers(), max_size=3),
    st.sampled_from([0, "x", None]),
)
OPS = st.lists(
    st.tuples(st.sampled_from(["set", "del", "get"]), st.one_of(PAIR_KEYS, OTHER_KEYS), VALUES),
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_random_operations_match_a_plain_dict(ops: list[tuple[str, str, Any]]) -> None:
    ours, plain = PairMap(), {}
    for op, key, value in ops:
        if op == "set":
            ours[key] = value
            plain[key] = value
        elif op == "del" and key in plain:
            del ours[key]
            del plain[key]
        assert ours.get(key, "missing") == plain.get(key, "missing")
        assert (key in ours) == (key in plain)
    assert dict(ours.items()) == plain
    assert sorted(ours) == sorted(plain)
    assert len(ours) == len(plain)
    assert ours.copy() == plain
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for key, value in plain.items():
        parts = key.split("\x1f")
        if parts[0] == "c" and len(parts) == 5:
            rows.setdefault(tuple(parts[1:4]), {})[parts[4]] = value
    for (tenant, surface, anchor), row in rows.items():
        if all(type(v) is list and v and type(v[0]) is int for v in row.values()):
            want = {b: v[0] for b, v in row.items()}
            assert ours.counts((tenant, surface, anchor)) == want
    assert sorted(ours.anchors()) == sorted(rows)


def test_pairs_are_packed_by_anchor_and_share_their_neighbour_strings() -> None:
    m = PairMap()
    m[join_key("c", "t", "s", "a", "item-b")] = [3, 7]
    m[join_key("c", "t", "s", "c", "item-b")] = [3, 9]
    row_a, row_c = m.rows[join_key("c", "t", "s", "a")], m.rows[join_key("c", "t", "s", "c")]
    assert row_a == {"item-b": 7 << 32 | 3} and row_c == {"item-b": 9 << 32 | 3}
    assert next(iter(row_a)) is next(iter(row_c))  # one string for both pairs
    assert m[join_key("c", "t", "s", "a", "item-b")] == [3, 7]
    assert sorted(m.anchors()) == [("t", "s", "a"), ("t", "s", "c")]


def test_values_that_do_not_pack_are_kept_as_given() -> None:
    m = PairMap()
    big, neg = [COUNT_MASK + 1, 5], [1, -1]
    m[join_key("c", "t", "s", "a", "b")] = big
    m[join_key("c", "t", "s", "a", "c")] = neg
    assert m[join_key("c", "t", "s", "a", "b")] == big
    assert m[join_key("c", "t", "s", "a", "c")] == neg
    assert m.counts(("t", "s", "a")) == {"b": COUNT_MASK + 1, "c": 1}


def test_keeping_partitions_drops_the_anchors_written_to_the_others_only() -> None:
    m = PairMap()
    m.set_at(join_key("c", "t", "s", "a", "b"), [1, 0], 0)
    m.set_at(join_key("c", "t", "s", "a", "c"), [1, 1], 3)  # the anchor's last partition
    m.set_at(join_key("c", "t", "s", "b", "a"), [1, 0], 1)
    m[join_key("c", "t", "s", "z", "a")] = [1, 0]  # no partition known: kept
    m["other"] = 1
    m.keep_partitions({1, 2})
    assert dict(m) == {
        join_key("c", "t", "s", "b", "a"): [1, 0],
        join_key("c", "t", "s", "z", "a"): [1, 0],
        "other": 1,
    }
    assert len(m) == 3 and m.row_partition == {join_key("c", "t", "s", "b"): 1}


def _event(key: str, value: Any, partition: int) -> Any:
    return SimpleNamespace(key=key, value=value, message=SimpleNamespace(
        partition=partition, value=None if value is None else b"x"))


def _table(store: str) -> Any:
    register()
    app = faust.App("store-test", broker="kafka://127.0.0.1:1")
    return app.Table("t", default=None, partitions=4, store=store)


def test_the_pair_store_recovers_in_order_and_drops_unowned_partitions() -> None:
    store = _table(PAIR_STORE_URL).data
    assert isinstance(store, PairTableStore) and isinstance(store.data, PairMap)
    ab, ba, pop = join_key("c", "t", "s", "a", "b"), join_key("c", "t", "s", "b", "a"), "p-key"
    batch = [
        _event(ab, [1, 0], 0), _event(ab, [2, 4], 0),
        _event(ba, [1, 0], 1), _event(pop, [0.5, 1, 2], 1),
        _event("gone", [1], 0), _event("gone", None, 0),
    ]
    store.apply_changelog_batch(batch, lambda k: k, lambda v: v)
    assert dict(store.data) == {ab: [2, 4], ba: [1, 0], pop: [0.5, 1, 2]}
    # written by the worker itself (streams.batch_io.persist), not recovered
    store.write(join_key("c", "t", "s", "x", "y"), 2, [1, 9])
    store.write("mark-2", 2, [9, 0])
    store.write(join_key("c", "t", "s", "y", "x"), 0, [1, 9])
    asyncio.run(store.on_recovery_completed({TP("t-changelog", 0)}, set()))
    assert dict(store.data) == {ab: [2, 4], join_key("c", "t", "s", "y", "x"): [1, 9]}


def test_the_memory_store_drops_the_keys_it_wrote_for_partitions_handed_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="streams.stores")
    store = _table(MEMORY_STORE_URL).data
    assert isinstance(store, TrackedStore)
    store.apply_changelog_batch([_event("r1", [1], 1), _event("r0", [1], 0)], str, list)
    for key, partition in [("w0", 0), ("w1", 1), ("w3", 3)]:
        store.write(key, partition, [partition])
    store.write("w3", 3, None)  # a delete
    assert dict(store.data) == {"r1": [1], "r0": [1], "w0": [0], "w1": [1]}
    asyncio.run(store.on_recovery_completed({TP("t-changelog", 0), TP("t-changelog", 3)}, set()))
    assert dict(store.data) == {"r0": [1], "w0": [0]}
    assert "table t: dropped 2 keys of partitions this worker no longer holds" in caplog.text


def test_the_view_index_publishes_neighbour_lists_straight_from_the_pairs() -> None:
    m = PairMap()
    for b, count in [("x", 2), ("y", 5), ("w", 2), ("z", 1)]:
        m[join_key("c", "t", "s", "a", b)] = [count, 10]
    index = ViewIndex(half_life_ms=1.0, top_k=10, top_n=3, pairs=m)
    index.mark_covisitation([("t", "s", "a"), ("t", "s", "a")])
    _, covis, _ = index.drain()
    assert list(covis) == [("t", "s", "a")]
    assert index.neighbour_snapshot(("t", "s", "a")) == [("y", 5), ("w", 2), ("x", 2)]
    assert index.neighbour_snapshot(("t", "s", "unknown")) == []
    index.mark_all_dirty()
    assert list(index.drain()[1]) == [("t", "s", "a")]
