"""The newest-first catalog order of the view state (``serving.catalog_order``)."""

from __future__ import annotations

from aiokafka import ConsumerRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import topics
from schemas.codec import AvroCodec
from schemas.events import Item
from serving.catalog_order import NewestOrder
from serving.view_reader import ViewState
from serving.views import ItemMeta, newest_first


def meta(item: str, created: int | None = None, available: bool = True) -> ItemMeta:
    return ItemMeta(item, created_at_ms=created, available=available)


def test_newest_first_then_item_id_and_undated_last():
    order = NewestOrder()
    for m in (meta("b", 5), meta("a", 5), meta("u"), meta("c", 9), meta("z", 1),
              meta("off", 99, available=False)):
        order.put(m)
    # c (9); a, b tie at 5 → item_id; z (1); u undated; "off" is unavailable
    assert order.newest(10) == ["c", "a", "b", "z", "u"]
    assert order.newest(2) == ["c", "a"] and order.newest(0) == []
    assert len(order) == 5


def test_updates_move_items_in_a_built_order():
    order = NewestOrder()
    for m in (meta("a", 1), meta("b", 2), meta("c", 3)):
        order.put(m)
    assert order.newest(3) == ["c", "b", "a"]  # built here; the updates below are moves
    order.put(meta("a", 10))  # re-dated: now the newest
    order.put(meta("c", 3, available=False))  # out of stock: leaves
    order.drop("b")  # tombstone
    order.put(meta("d"))  # undated: last
    assert order.newest(5) == ["a", "d"]
    order.put(meta("c", 3))  # back in stock
    assert order.newest(5) == ["a", "c", "d"]


def test_a_burst_of_updates_drops_the_order_and_the_next_read_sorts_once():
    order = NewestOrder(rebuild_after=2)
    order.put(meta("a", 1))
    assert order.newest(1) == ["a"]
    for n in range(2, 6):  # four updates > 2: the order is rebuilt on the next read
        order.put(meta(f"i{n}", n))
    assert order._order is None
    assert order.newest(3) == ["i5", "i4", "i3"]
    assert order._order is not None


ops = st.lists(st.tuples(
    st.sampled_from(["put", "drop", "read"]),
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.one_of(st.none(), st.integers(0, 4)),
    st.booleans(),
), max_size=40)


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(0, 3))
def test_the_kept_order_is_always_the_sorted_listing(steps, rebuild_after):
    order = NewestOrder(rebuild_after=rebuild_after)
    truth: dict[str, ItemMeta] = {}
    for op, item, created, available in steps:
        if op == "put":
            truth[item] = meta(item, created, available)
            order.put(truth[item])
        elif op == "drop":
            truth.pop(item, None)
            order.drop(item)
        assert order.newest(5) == [m.item_id for m in newest_first(truth.values(), 5)]


def _item_record(codec: AvroCodec, item: Item | None, key: str, offset: int) -> ConsumerRecord:
    value = None if item is None else codec.encode(item)
    return ConsumerRecord(topics.ITEMS, 0, offset, 0, 0, key.encode(), value, None,
                          len(key), len(value or b""), [])


def test_view_state_keeps_a_listing_per_tenant_from_the_catalog_topic():
    codec = AvroCodec()
    state = ViewState()
    records = [
        Item("i1", "t1", ("A",), True, created_at="2026-01-01T00:00:00Z"),
        Item("i2", "t1", (), True, created_at="2026-01-03T00:00:00Z"),
        Item("i3", "t1", (), False, created_at="2026-01-04T00:00:00Z"),
        Item("i4", "t1", (), True),
        Item("x1", "t2", (), True, created_at="2026-01-09T00:00:00Z"),
    ]
    for n, item in enumerate(records):
        state.apply(_item_record(codec, item, item.item_id, n), codec)
    # i3 is unavailable, i4 undated: i2 (Jan 3), i1 (Jan 1), i4
    assert [m.item_id for m in state.newest("t1", 10)] == ["i2", "i1", "i4"]
    assert state.newest("t1", 1) == [ItemMeta("i2", created_at_ms=1767398400000)]
    assert [m.item_id for m in state.newest("t2", 10)] == ["x1"]
    assert state.newest("t3", 10) == []
    state.apply(_item_record(codec, None, "i2", 5), codec)  # tombstone
    state.apply(_item_record(codec, Item("i3", "t1", (), True,
                                         created_at="2026-01-04T00:00:00Z"), "i3", 6), codec)
    assert [m.item_id for m in state.newest("t1", 10)] == ["i3", "i1", "i4"]
    assert state.get("t1", "i2") is None
