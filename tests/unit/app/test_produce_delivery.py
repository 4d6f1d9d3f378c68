"""``recsys produce`` when Kafka stops acknowledging: bounded, reported, exit 1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.produce import produce_file
from schemas.registry import LocalRegistry


def _line(n: int) -> str:
    return json.dumps({
        "request_id": f"r{n}", "user_id": "u1", "ts": "2025-01-01T00:00:00Z",
        "items": [{"item_id": "i1", "rank": 1}], "context": {"tenant": "t1", "surface": "home"},
    })


class BrokerGoneAfter:
    """A Kafka producer whose broker acknowledges ``acks`` records, then goes away: later
    records fail as aiokafka's do at the request timeout (or, with ``hang``, never settle)."""

    def __init__(self, acks: int, *, hang: bool = False) -> None:
        self.acks, self.hang = acks, hang
        self.options: dict[str, Any] = {}
        self.sends = 0

    def __call__(self, **options: Any) -> BrokerGoneAfter:
        self.options = options
        return self

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def flush(self) -> None: ...

    async def send(self, topic: str, value: bytes | None = None,
                   key: bytes | None = None) -> asyncio.Future[Any]:
        await asyncio.sleep(0)  # aiokafka's send awaits too (metadata, buffer space)
        self.sends += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.sends <= self.acks:
            future.set_result(None)
        elif not self.hang:
            future.set_exception(TimeoutError("KafkaTimeoutError: batch expired"))
        return future


def _produce(path: Path, kafka: BrokerGoneAfter, timeout_s: float = 30.0):
    return asyncio.run(produce_file(
        str(path), "exposures", "k:9092", registry=LocalRegistry(),
        delivery_timeout_s=timeout_s, producer_factory=kafka,
    ))


def test_once_delivery_failed_the_rest_is_counted_not_sent(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    lines = [_line(n) for n in range(1, 6)] + ["not json"] + [_line(n) for n in range(7, 9)]
    path.write_text("\n".join(lines) + "\n")
    kafka = BrokerGoneAfter(acks=2)
    summary = _produce(path, kafka)
    # lines 1-2 acknowledged, line 3 failed; its failure is seen while line 4 is being
    # sent (at send's first await), so 4 fails too and the file is not read from line 5 on
    # (the invalid line 6 included: not checked)
    assert (summary.sent, summary.failed) == (2, 2)
    assert (summary.not_sent_from, summary.last_line) == (5, 8)
    assert summary.rejected == []
    assert kafka.sends == 4
    assert not summary.ok
    assert summary.render("e.jsonl", "recsys.exposures.v1").splitlines()[0] == (
        "e.jsonl → recsys.exposures.v1: sent 2, rejected 0, delivery failed 2; "
        "lines 5-8 not sent nor checked (Kafka stopped acknowledging)"
    )


def test_the_delivery_timeout_is_aiokafka_s_request_timeout(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    path.write_text(_line(1) + "\n")
    kafka = BrokerGoneAfter(acks=1)
    summary = _produce(path, kafka, timeout_s=2.5)
    assert kafka.options["request_timeout_ms"] == 2500
    assert summary.ok and summary.sent == 1


def test_records_that_never_settle_count_as_failed_after_the_timeout(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("app.produce.FLUSH_SLACK_S", 0.1)
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(_line(n) for n in range(1, 4)) + "\n")
    summary = _produce(path, BrokerGoneAfter(acks=1, hang=True), timeout_s=0.1)
    assert (summary.sent, summary.failed) == (1, 2)
    assert not summary.ok
