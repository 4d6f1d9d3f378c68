"""Dead letters and consumer lag (``KafkaGauges``) on the real embedded broker."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient

from app.broker import EmbeddedBroker, free_port
from app.kafka_admin import ensure_topics
from app.produce import produce_file
from app.runtime import start_stack, stop_stack
from app.settings import Settings
from schemas import topics
from schemas.registry import LocalRegistry
from serving.kafka_gauges import GaugeValues, KafkaGauges

GROUP_MEMBERSHIP = ("JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup")


def _record_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(client id, request type) of every request any aiokafka client sends from now on."""
    sent: list[tuple[str, str]] = []
    send = AIOKafkaClient.send

    async def recording(self: AIOKafkaClient, node_id: Any, request: Any, **kw: Any) -> Any:
        sent.append((self._client_id, type(request).__name__))
        return await send(self, node_id, request, **kw)

    monkeypatch.setattr(AIOKafkaClient, "send", recording)
    return sent


async def _produce_bad_exposures(bootstrap: str, n: int) -> None:
    """``n`` records that are not framed Avro, on one key: one batch of ``n`` records,
    whose end offset ListOffsets under-reports on the embedded broker."""
    raw = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    await raw.start()
    try:
        sends = [
            await raw.send(topics.EXPOSURES, key=b"bad", value=b'{"request_id":"x%d"}' % i)
            for i in range(n)
        ]
        await asyncio.gather(*sends)
    finally:
        await raw.stop()


async def _wait_for(gauges: KafkaGauges, want: GaugeValues, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while gauges.values != want:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gauges never became {want}; last {gauges.values}")
        await asyncio.sleep(0.1)


async def _overview_when(base: str, timeout_s: float = 30.0, **want: int) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    doc: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            async with http.get(f"{base}/v1/live/overview", headers={"X-Org-Id": "t1"}) as resp:
                assert resp.status == 200, await resp.text()
                doc = await resp.json()
            if all(doc.get(k) == v for k, v in want.items()):
                return doc
            await asyncio.sleep(0.2)
    raise AssertionError(f"overview never had {want}; last {doc}")


async def test_lag_counts_unread_records_and_dead_letters_count_the_bad_ones(
    fresh_broker: EmbeddedBroker, tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap = fresh_broker.bootstrap
    settings = Settings(
        kafka_bootstrap=bootstrap,
        http_port=0,
        partitions=4,
        data_dir=tmp_path,
        app_id=f"gauges-{uuid.uuid4().hex[:8]}",  # a group with no commits yet
    )
    await ensure_topics(bootstrap, settings.partitions)
    sent = _record_requests(monkeypatch)
    gauges = KafkaGauges(bootstrap, settings.app_id, interval_s=0.2)
    try:
        assert await gauges.refresh() == GaugeValues(dead_letters=0, lag_records=0)

        # No worker of the group runs: every record produced is lag.
        registry = LocalRegistry()
        for alias, n in (("exposures", 3), ("outcomes", 2)):
            summary = await produce_file(
                str(tiny_dir / f"{alias}.jsonl"), alias, bootstrap, registry=registry
            )
            assert (summary.sent, summary.rejected, summary.failed) == (n, [], 0)
        await _produce_bad_exposures(bootstrap, 2)
        assert await gauges.refresh() == GaugeValues(dead_letters=0, lag_records=3 + 2 + 2)

        # A worker of the group reads everything, dead-letters the two bad records and
        # commits: lag 0, exactly 2 dead letters — also in the serving app's overview.
        running = await start_stack(settings)
        try:
            await gauges.start()
            await _wait_for(gauges, GaugeValues(dead_letters=2, lag_records=0), 60.0)
            assert await gauges.refresh() == GaugeValues(dead_letters=2, lag_records=0)
            doc = await _overview_when(running.base_url, dead_letters=2, lag_records=0)
            assert doc["namespaces"]  # the tiny dataset's tenant
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{running.base_url}/metrics") as resp:
                    metrics = await resp.text()
            assert "recsys_live_dead_letters_total 2" in metrics.splitlines()
            assert "recsys_live_lag_records 0" in metrics.splitlines()
        finally:
            await stop_stack(running)
    finally:
        await gauges.stop()

    # The gauges read the group's commits without ever joining it (no rebalance).
    ours = {kind for client, kind in sent if client == "recsys-gauges"}
    assert "OffsetFetchRequest" in ours
    assert not [k for k in ours if k.startswith(GROUP_MEMBERSHIP)], sorted(ours)
    # ... while the worker itself did join it (the recording sees group requests at all).
    assert any(kind.startswith("JoinGroup") for _, kind in sent)


async def test_a_broker_that_is_down_does_not_fail_start_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="serving.kafka_gauges")
    gauges = KafkaGauges(f"127.0.0.1:{free_port()}", "nobody", interval_s=0.1, timeout_s=1.0)
    await gauges.start()
    try:
        await asyncio.sleep(1.5)
    finally:
        await gauges.stop()
    assert (gauges.values, gauges.readings, gauges.failing) == (GaugeValues(), 0, True)
    warnings = [r for r in caplog.records if r.name == "serving.kafka_gauges"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
