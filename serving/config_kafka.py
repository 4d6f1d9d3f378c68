"""``KafkaConfigStore``: tenant config, rules and audit on Kafka, no database.

Every replica reads both topics from the beginning at ``start`` (so a restart loses
nothing and ``current`` is complete before the app serves) and then follows them, so a
write on any replica reaches all of them. Writes are acknowledged by the broker
(``acks=all``) before they are applied locally and answered.

Writes of one document on one replica are serialised (a lock per tenant and document
spans the ``If-Match`` check, the broker's acknowledgement and the local apply), so of
concurrent writes naming the same version exactly one wins and the others get 409.
Limitation: ``If-Match`` is checked against this replica's snapshot; two writes racing
on different replicas within the propagation delay are ordered by the log (last wins),
as writes without ``If-Match`` are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.errors import BrokerError
from schemas.follow import FETCH_MAX_WAIT_MS
from schemas.highwater import fetch_highwaters
from serving.config_state import (
    ConfigState,
    decode_audit,
    encode_audit,
    encode_version,
    pointer_key,
    version_key,
)
from serving.config_store import (
    Actor,
    AuditEntry,
    Version,
    audit_for_write,
    check_if_match,
)
from serving.tasks import cancel_and_wait
from serving.tenant_config import content_etag

log = logging.getLogger(__name__)
CONFIG_TOPIC = "recsys.config.v1"
AUDIT_TOPIC = "recsys.audit.v1"


class KafkaConfigStore:
    def __init__(self, bootstrap: str, *, config_topic: str = CONFIG_TOPIC,
                 audit_topic: str = AUDIT_TOPIC, replication: int = 1,
                 start_timeout_s: float = 30.0,
                 fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS) -> None:
        self.bootstrap = bootstrap
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.config_topic = config_topic
        self.audit_topic = audit_topic
        self.replication = replication
        self.start_timeout_s = start_timeout_s
        self.state = ConfigState()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing: dict[tuple[str, str], asyncio.Lock] = {}

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self._ensure_topics()
            tps = [TopicPartition(self.config_topic, 0), TopicPartition(self.audit_topic, 0)]
            targets = await fetch_highwaters(self.bootstrap, tps)
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                        client_id="recsys-config")
            self._producer = producer  # stopped by ``stop`` even when its start fails
            await producer.start()
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                        enable_auto_commit=False,
                                        auto_offset_reset="earliest",
                                        client_id="recsys-config-reader",
                                        fetch_max_wait_ms=self.fetch_max_wait_ms)
            self._consumer = consumer
            await consumer.start()
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            await asyncio.wait_for(self._catch_up(consumer, targets), self.start_timeout_s)
        except (KafkaError, TimeoutError) as exc:
            await self.stop()
            raise BrokerError(f"config store cannot start on {self.bootstrap}: {exc}") from exc
        self._task = asyncio.create_task(self._follow(), name="config-store")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(KafkaError):
                    await client.stop()
        self._consumer = self._producer = None

    async def _ensure_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="recsys-config")
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            specs = [
                NewTopic(self.config_topic, 1, self.replication,
                         topic_configs={"cleanup.policy": "compact"}),
                NewTopic(self.audit_topic, 1, self.replication),
            ]
            for spec in specs:
                if spec.name not in existing:
                    with contextlib.suppress(TopicAlreadyExistsError):
                        await admin.create_topics([spec])
        finally:
            await admin.close()

    async def _catch_up(self, consumer: AIOKafkaConsumer,
                        targets: dict[TopicPartition, int]) -> None:
        lagging = dict(targets)
        while lagging:
            await self._poll(consumer)
            for tp, hw in list(lagging.items()):
                if await consumer.position(tp) >= hw:
                    del lagging[tp]

    async def _poll(self, consumer: AIOKafkaConsumer) -> None:
        batch = await consumer.getmany(timeout_ms=200, max_records=5000)
        for tp, records in batch.items():
            for r in records:
                if tp.topic == self.config_topic:
                    self.state.apply_config_record(r.key, r.value)
                elif r.value is not None:
                    self.state.apply_audit(decode_audit(r.value, r.offset))

    async def _follow(self) -> None:
        consumer = self._consumer
        while consumer is not None:
            try:
                await self._poll(consumer)
            except KafkaError:
                log.warning("config store fetch failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)

    def _live_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BrokerError("KafkaConfigStore is not started")
        return self._producer

    # -- ConfigStore -------------------------------------------------------------------
    def current(self, tenant: str, kind: str) -> Version | None:
        return self.state.current(tenant, kind)

    async def put(self, tenant: str, kind: str, document: Any, *, if_match: str | None,
                  actor: Actor, now_ms: int) -> Version:
        lock = self._writing.setdefault((tenant, kind), asyncio.Lock())
        async with lock:  # check, write and apply as one step (see the module docstring)
            return await self._put(tenant, kind, document, if_match, actor, now_ms)

    async def _put(self, tenant: str, kind: str, document: Any, if_match: str | None,
                   actor: Actor, now_ms: int) -> Version:
        before = self.current(tenant, kind)
        check_if_match(kind, if_match, before)
        etag = content_etag(document)
        version = self.state.versions.get((tenant, kind, etag)) or Version(
            tenant, kind, etag, document, now_ms)
        producer = self._live_producer()
        value = encode_version(version)
        await producer.send_and_wait(self.config_topic, value, key=version_key(version))
        await producer.send_and_wait(self.config_topic, value, key=pointer_key(tenant, kind))
        self.state.apply_version(version, pointer=True)
        await self._append(audit_for_write(tenant, kind, actor, now_ms, before, version))
        return version

    async def record(self, tenant: str, actor: Actor, action: str, entity_type: str,
                     entity_id: str, now_ms: int, extra: dict[str, Any]) -> AuditEntry:
        return await self._append(AuditEntry(0, now_ms, tenant, actor, action, entity_type,
                                             entity_id, None, None, dict(extra)))

    async def _append(self, entry: AuditEntry) -> AuditEntry:
        meta = await self._live_producer().send_and_wait(
            self.audit_topic, encode_audit(entry), key=entry.tenant_id.encode())
        stored = replace(entry, id=meta.offset + 1)
        self.state.apply_audit(stored)
        return stored

    async def audit(self, tenant: str, *, limit: int, before_ms: int | None = None,
                    before_id: int | None = None) -> list[AuditEntry]:
        return self.state.audit(tenant, limit, before_ms, before_id)
