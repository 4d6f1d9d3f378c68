"""``recsys dead-letters`` reads what the workers dead-lettered, on the real broker."""

from __future__ import annotations

import asyncio
import io

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from app.broker import EmbeddedBroker
from app.cli import main
from app.dead_letters import dead_letters
from app.kafka_admin import ensure_topics
from schemas import topics
from streams.deadletter import DeadLetter


async def test_lists_every_dead_letter_with_its_reason_then_counts(
    fresh_broker: EmbeddedBroker,
) -> None:
    await ensure_topics(fresh_broker.bootstrap, 2)
    letters = [
        DeadLetter(b"r-1", b'{"request_id":"x"}', "unknown magic byte 0x7b",
                   topics.EXPOSURES, 1, 7, "exposure.v1"),
        DeadLetter(b"r-2", None, "empty record value (tombstone) on an event topic",
                   topics.OUTCOMES, 0, 3, "outcome.v1"),
        DeadLetter(b"r-3", b"\xff", "unknown magic byte 0xff", topics.EXPOSURES, 0, 9,
                   "exposure.v1"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=fresh_broker.bootstrap)
    await producer.start()
    try:
        for n, letter in enumerate(letters):  # both partitions, in this order in time
            await producer.send_and_wait(topics.DEADLETTER, letter.value, key=letter.key,
                                         partition=n % 2, headers=letter.headers(),
                                         timestamp_ms=1_000 + n)
    finally:
        await producer.stop()

    out, err = io.StringIO(), io.StringIO()
    assert await dead_letters(fresh_broker.bootstrap, out=out, err=err) == 3
    docs = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["key"], d["topic"], d["offset"], d["reason"]) for d in docs] == [
        ("r-1", topics.EXPOSURES, 7, "unknown magic byte 0x7b"),
        ("r-2", topics.OUTCOMES, 3, "empty record value (tombstone) on an event topic"),
        ("r-3", topics.EXPOSURES, 9, "unknown magic byte 0xff"),
    ]
    assert docs[0]["value"] == '{"request_id":"x"}' and docs[1]["value"] is None
    assert docs[2]["value_base64"] == "/w=="
    assert err.getvalue().splitlines()[0] == (
        f"recsys dead-letters: 3 of 3 records in {topics.DEADLETTER}")

    out = io.StringIO()
    assert await dead_letters(fresh_broker.bootstrap, limit=1, out=out, err=io.StringIO()) == 1
    assert orjson.loads(out.getvalue())["key"] == "r-3"  # the newest


def test_the_command_prints_json_lines_and_a_summary(
    fresh_broker: EmbeddedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    async def one_letter() -> None:
        await ensure_topics(fresh_broker.bootstrap, 1)
        letter = DeadLetter(b"k", b"v", "why", topics.ITEMS, 0, 1, "item.v1")
        producer = AIOKafkaProducer(bootstrap_servers=fresh_broker.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topics.DEADLETTER, letter.value, key=letter.key,
                                         headers=letter.headers())
        finally:
            await producer.stop()

    asyncio.run(one_letter())
    assert main(["dead-letters", "--bootstrap", fresh_broker.bootstrap]) == 0
    out, err = capsys.readouterr()
    assert [orjson.loads(line)["reason"] for line in out.splitlines()] == ["why"]
    assert f"1 of 1 records in {topics.DEADLETTER}" in err and f"{topics.ITEMS}: why" in err
    with pytest.raises(SystemExit):
        main(["dead-letters", "--limit", "0"])
    assert "0 is not a record count: use >= 1" in capsys.readouterr().err
