"""``ViewReader``: every partition of the view topics, held read-only in memory.

Any number of serving replicas can run: each reads the compacted view topics (and the
catalog topic ``recsys.items.v1``) from the beginning, with no consumer group, and keeps
following them. It reports "caught up" once it has reached the high-water marks it saw
at start — taken from fetch responses (``schemas.highwater``), which are exact on every
broker, unlike ListOffsets on the embedded one.

It implements ``PopularityView``, ``CovisitationView``, ``CatalogView`` (with
``CatalogListing``: a newest-first order per tenant kept by ``serving.catalog_order``) and
``HistoryView`` of ``serving.views``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from schemas import topics
from schemas.codec import AvroCodec
from schemas.errors import BrokerError, ContractError
from schemas.events import Item
from schemas.follow import FETCH_MAX_WAIT_MS
from schemas.highwater import fetch_highwaters
from schemas.views import (
    COVISITATION_VIEW,
    HISTORY_VIEW,
    POPULARITY_VIEW,
    DecayedEntry,
    decode_history,
    decode_neighbours,
    decode_popularity,
    parse_key,
)
from serving.catalog_order import NewestOrder
from serving.snapshots import PopularitySnapshot
from serving.tasks import cancel_and_wait
from serving.tenant_catalog import TenantCatalog
from serving.views import ItemMeta, ScoredItem

log = logging.getLogger(__name__)
READ_TOPICS = (POPULARITY_VIEW, COVISITATION_VIEW, HISTORY_VIEW, topics.ITEMS)


def _rank_key(e: DecayedEntry, half_life_ms: float) -> tuple[float, str]:
    """Order of decayed scores, the same at every time: log2(value) + t/h, desc."""
    strength = math.log2(e.value) + e.t_ms / half_life_ms if e.value > 0 else -math.inf
    return (-strength, e.item_id)


@dataclass
class ViewState:
    """The in-memory views (pure: fed records, answers queries)."""

    half_life_ms: float = 7 * 86_400_000.0
    popularity: dict[tuple[str, str], dict[int, list[DecayedEntry]]] = field(default_factory=dict)
    merged: dict[tuple[str, str], list[DecayedEntry]] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], PopularitySnapshot] = field(default_factory=dict)
    covisitation: dict[tuple[str, str, str], list[tuple[str, int]]] = field(default_factory=dict)
    history: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)
    catalog: TenantCatalog = field(default_factory=TenantCatalog)
    """Change it through ``put_item``/``drop_item``: they keep ``newest`` in step."""
    newest_orders: dict[str, NewestOrder] = field(default_factory=dict)

    def put_popularity(self, tenant: str, surface: str, partition: int, raw: bytes) -> None:
        self.half_life_ms, entries = decode_popularity(raw)
        parts = self.popularity.setdefault((tenant, surface), {})
        parts[partition] = entries
        everything = [e for es in parts.values() for e in es]
        everything.sort(key=lambda e: _rank_key(e, self.half_life_ms))
        self.merged[(tenant, surface)] = everything
        # the snapshot is replaced, never changed: a request holding the old one is unaffected
        self.snapshots[(tenant, surface)] = PopularitySnapshot(everything)

    def top(self, tenant: str, surface: str, n: int, now_ms: int) -> list[ScoredItem]:
        return [ScoredItem(i, s) for i, s in self.top_pairs(tenant, surface, n, now_ms)]

    def score(self, tenant: str, surface: str, item_id: str, now_ms: int) -> float:
        snap = self.snapshots.get((tenant, surface))
        return 0.0 if snap is None else snap.score(item_id, now_ms, self.half_life_ms)

    def neighbors(self, tenant: str, surface: str, item_id: str, n: int) -> list[ScoredItem]:
        return [ScoredItem(i, c) for i, c in self.neighbour_pairs(tenant, surface, item_id, n)]

    def get(self, tenant: str, item_id: str) -> ItemMeta | None:
        return self.catalog.get((tenant, item_id))

    def newest(self, tenant: str, n: int) -> list[ItemMeta]:
        order = self.newest_orders.get(tenant)
        if order is None:
            return []
        catalog = self.catalog
        return [catalog[(tenant, item)] for item in order.newest(n)]

    def put_item(self, tenant: str, meta: ItemMeta) -> None:
        self.catalog[(tenant, meta.item_id)] = meta
        self.newest_orders.setdefault(tenant, NewestOrder()).put(meta)

    def drop_item(self, item_id: str) -> None:
        """A tombstone: the item leaves the catalog of every tenant (the key is item_id)."""
        for tenant in self.catalog.tenants_with(item_id):
            del self.catalog[(tenant, item_id)]
            order = self.newest_orders.get(tenant)
            if order is not None:
                order.drop(item_id)

    # --- bulk reads (serving.views.BulkViews): the same answers without an object each ---

    def top_pairs(self, tenant: str, surface: str, n: int, now_ms: int) -> list[tuple[str, float]]:
        snap = self.snapshots.get((tenant, surface))
        return [] if snap is None else snap.top(n, now_ms, self.half_life_ms)

    def scores_of(self, tenant: str, surface: str, ids: Iterable[str],
                  now_ms: int) -> dict[str, float]:
        snap = self.snapshots.get((tenant, surface))
        if snap is None:
            return dict.fromkeys(ids, 0.0)
        return snap.scores(ids, now_ms, self.half_life_ms)

    def neighbour_pairs(self, tenant: str, surface: str, item_id: str,
                        n: int) -> list[tuple[str, float]]:
        pairs = self.covisitation.get((tenant, surface, item_id))
        return [(i, float(c)) for i, c in pairs[:n]] if pairs else []

    def metas(self, tenant: str, ids: Iterable[str]) -> dict[str, ItemMeta | None]:
        get = self.catalog.of_tenant(tenant).get
        return {i: get(i) for i in ids}

    def recent(self, tenant: str, user_id: str, n: int) -> list[tuple[str, int]]:
        return self.history.get((tenant, user_id), [])[:n]

    def apply(self, record: ConsumerRecord[bytes, bytes], codec: AvroCodec) -> None:
        """Fold one record of a view topic or the catalog topic."""
        if record.topic == topics.ITEMS:
            self._apply_item(record, codec)
            return
        if record.key is None or record.value is None:
            return
        parts = parse_key(record.key)
        if record.topic == POPULARITY_VIEW:
            tenant, surface, partition = parts
            self.put_popularity(tenant, surface, int(partition), record.value)
        elif record.topic == COVISITATION_VIEW:
            tenant, surface, anchor = parts
            self.covisitation[(tenant, surface, anchor)] = decode_neighbours(record.value)
        elif record.topic == HISTORY_VIEW:
            tenant, user = parts
            self.history[(tenant, user)] = decode_history(record.value)

    def _apply_item(self, record: ConsumerRecord[bytes, bytes], codec: AvroCodec) -> None:
        if record.value is None:  # tombstone: the item left the catalog
            if record.key is not None:
                self.drop_item(record.key.decode())
            return
        try:
            item = codec.decode(record.value, expected="item.v1")
        except ContractError:
            return  # the worker dead-letters it; the view just does not show it
        if not isinstance(item, Item):
            return
        tags = frozenset(t.strip().lower() for t in item.tags if t.strip())
        self.put_item(item.tenant, ItemMeta(
            item.item_id, tags, item.price, item.timestamp_ms, item.available
        ))


class ViewReader(ViewState):
    """``ViewState`` kept current from Kafka by a background task."""

    def __init__(
        self,
        bootstrap: str,
        codec: AvroCodec | None = None,
        *,
        wait_topics_s: float = 60.0,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
    ) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.wait_topics_s = wait_topics_s
        self.codec = codec or AvroCodec()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[TopicPartition, int] = {}
        self._lagging: set[TopicPartition] = set()
        self.records = 0

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="recsys-view-reader",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        try:  # a consumer whose start failed must be stopped too (unclosed otherwise)
            await consumer.start()
            tps = await self._partitions()
            self._targets = await fetch_highwaters(self.bootstrap, tps)
            self._lagging = {tp for tp, hw in self._targets.items() if hw > 0}
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="view-reader")

    async def _partitions(self) -> list[TopicPartition]:
        """All partitions of the topics to read, waiting for a worker to create them.

        Existence is checked with ListTopics first: a metadata request for a missing
        topic makes some brokers (the embedded one among them) auto-create it.
        """
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="recsys-views")
        await admin.start()
        try:
            deadline = asyncio.get_running_loop().time() + self.wait_topics_s
            while missing := sorted(set(READ_TOPICS) - set(await admin.list_topics())):
                if asyncio.get_running_loop().time() > deadline:
                    raise BrokerError(
                        f"view topics missing on {self.bootstrap}: {', '.join(missing)} "
                        f"(start a worker: `recsys up` or `recsys worker` creates them)"
                    )
                log.info("waiting for topics %s", ", ".join(missing))
                await asyncio.sleep(0.5)
            described = await admin.describe_topics(list(READ_TOPICS))
        finally:
            await admin.close()
        return sorted(
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        )

    async def _run(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            except KafkaError:
                log.warning("view reader fetch failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for records in batch.values():
                for record in records:
                    self.apply(record, self.codec)
                    self.records += 1
            if self._lagging:
                await self._refresh_lagging()

    def caught_up(self) -> bool:
        """True once every partition reached the high-water mark seen at start."""
        return self._consumer is not None and not self._lagging

    async def _refresh_lagging(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for tp in list(self._lagging):
            if await consumer.position(tp) >= self._targets[tp]:
                self._lagging.discard(tp)

    def ready(self) -> bool:
        return self.caught_up()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._consumer is not None:
            await self._consumer.stop()
