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


def test_writes_remember_the_partition_of_the_record_that_wrote_them_last():
    staged = Overlay({"a": 1})
    staged.partition = 3
    staged["a"] = 2
    staged["b"] = 5
    staged.partition = 1
    staged["b"] = 6
    del staged["a"]
    assert sorted(staged.writes()) == [("a", 1, None), ("b", 1, 6)]
