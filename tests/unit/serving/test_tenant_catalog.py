"""``TenantCatalog`` behaves as the ``(tenant, item_id) → ItemMeta`` dict it replaces."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from serving.tenant_catalog import TenantCatalog
from serving.view_reader import ViewState
from serving.views import ItemMeta

KEYS = st.tuples(st.sampled_from(["t1", "t2", "t3"]), st.sampled_from(["a", "b", "c", "d"]))
OPS = st.lists(st.tuples(st.sampled_from(["set", "del", "get"]), KEYS), max_size=40)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_random_operations_match_a_plain_dict(ops: list[tuple[str, tuple[str, str]]]) -> None:
    ours, plain = TenantCatalog(), {}
    for n, (op, key) in enumerate(ops):
        if op == "set":
            meta = ItemMeta(key[1], frozenset({f"tag{n}"}))
            ours[key] = meta
            plain[key] = meta
        elif op == "del":
            if key in plain:
                del ours[key]
                del plain[key]
        assert ours.get(key) == plain.get(key)
        assert (key in ours) == (key in plain)
    assert dict(ours.items()) == plain
    assert len(ours) == len(plain)
    for tenant in ("t1", "t2", "t3"):
        assert dict(ours.of_tenant(tenant)) == {i: m for (t, i), m in plain.items() if t == tenant}


def test_a_tombstone_drops_the_item_from_every_tenant_and_bulk_reads_agree() -> None:
    views = ViewState()
    for tenant in ("t1", "t2"):
        views.put_item(tenant, ItemMeta("x", frozenset({"a"})))
        views.put_item(tenant, ItemMeta("y"))
    views.drop_item("x")
    assert ("t1", "x") not in views.catalog and ("t2", "x") not in views.catalog
    assert views.metas("t1", ["x", "y", "z"]) == {"x": None, "y": ItemMeta("y"), "z": None}
    assert views.metas("nobody", ["y"]) == {"y": None}
    assert [m.item_id for m in views.newest("t2", 5)] == ["y"]
