from streams.overlay import Overlay


def test_reads_see_staged_writes_and_base_is_untouched_until_commit():
    base = {"a": 1, "b": 2}
    staged = Overlay(base)
    staged["a"] = 10
    staged["c"] = 3
    del staged["b"]
    assert (staged.get("a"), staged.get("b"), staged["c"]) == (10, None, 3)
    assert sorted(staged) == ["a", "c"] and len(staged) == 2
    assert base == {"a": 1, "b": 2}  # nothing persisted before the acks
    staged.commit()
    assert base == {"a": 10, "c": 3}
    assert staged.staged == {}
