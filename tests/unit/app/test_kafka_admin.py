"""Existing topics must have the configured partition count (checked before a worker starts)."""

from __future__ import annotations

import pytest

from app.kafka_admin import check_partitions, partition_mismatches, topic_specs
from schemas import topics
from schemas.errors import ConfigError

ALL = [spec.name for spec in topic_specs(8, 1)]


def test_topics_with_the_configured_count_or_missing_pass() -> None:
    assert partition_mismatches(8, {name: 8 for name in ALL}) == []
    assert partition_mismatches(8, {}) == []
    assert partition_mismatches(8, {"someone-elses-topic": 3}) == []  # not ours: unchecked
    check_partitions("k:9092", 8, {topics.EXPOSURES: 8})


def test_a_mismatch_names_the_topics_and_the_count_to_use() -> None:
    existing = {topics.EXPOSURES: 8, topics.OUTCOMES: 8, topics.ITEMS: 4}
    assert partition_mismatches(4, existing) == [
        f"{topics.EXPOSURES} (8)", f"{topics.OUTCOMES} (8)"
    ]
    with pytest.raises(ConfigError) as err:
        check_partitions("k:9092", 4, existing)
    assert str(err.value) == (
        "topics on k:9092 have other partition counts than the 4 configured: "
        f"{topics.EXPOSURES} (8), {topics.OUTCOMES} (8); "
        "start with --partitions 8 (or RECSYS_PARTITIONS=8)"
    )


def test_topics_that_disagree_among_themselves_get_no_single_count() -> None:
    existing = {name: 8 for name in ALL}
    existing[topics.EXPOSURES] = 2
    existing[topics.ITEMS] = 3
    with pytest.raises(ConfigError, match=r"disagree among themselves") as err:
        check_partitions("k:9092", 8, existing)
    assert f"{topics.EXPOSURES} (2)" in str(err.value)
    assert f"{topics.ITEMS} (3)" in str(err.value)
