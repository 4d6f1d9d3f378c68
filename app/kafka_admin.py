"""Topic creation and broker reachability, on aiokafka's admin client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from schemas import topics
from schemas.errors import BrokerError, ConfigError
from schemas.views import VIEW_TOPICS
from streams.agents import TICKS_TOPIC
from streams.live_agents import LIVE_TICKS_TOPIC
from streams.messages import ENGAGEMENTS_TOPIC, ITEM_UPDATES_TOPIC

log = logging.getLogger(__name__)

EVENT_TOPICS = (topics.EXPOSURES, topics.OUTCOMES, topics.ASSIGNMENTS)


def topic_specs(partitions: int, replication: int) -> list[NewTopic]:
    """The topics ``recsys up`` creates; all share one partition count (joins stay local)."""
    specs = [NewTopic(t, partitions, replication) for t in EVENT_TOPICS]
    specs.append(
        NewTopic(topics.ITEMS, partitions, replication, topic_configs={"cleanup.policy": "compact"})
    )
    specs.append(NewTopic(topics.DEADLETTER, partitions, replication))
    # The live join: its output, its wall-clock ticks, its per-partition tallies (compacted).
    specs += [NewTopic(t, partitions, replication) for t in (topics.JOINED, LIVE_TICKS_TOPIC)]
    specs.append(
        NewTopic(
            topics.LIVE_VIEW, partitions, replication, topic_configs={"cleanup.policy": "compact"}
        )
    )
    # Internal topics of the worker: repartitioned updates and wall-clock ticks.
    specs += [
        NewTopic(t, partitions, replication)
        for t in (ENGAGEMENTS_TOPIC, ITEM_UPDATES_TOPIC, TICKS_TOPIC)
    ]
    # Serving views: compacted, read whole by every serving replica.
    specs += [
        NewTopic(t, partitions, replication, topic_configs={"cleanup.policy": "compact"})
        for t in VIEW_TOPICS
    ]
    return specs


def partition_mismatches(wanted: int, existing: Mapping[str, int]) -> list[str]:
    """The topics of ``topic_specs`` that exist with another partition count than
    ``wanted``, as ``name (N)``; topics not in ``existing`` are not checked."""
    return [
        f"{spec.name} ({existing[spec.name]})"
        for spec in topic_specs(wanted, 1)
        if spec.name in existing and existing[spec.name] != wanted
    ]


def check_partitions(bootstrap: str, wanted: int, existing: Mapping[str, int]) -> None:
    """``ConfigError`` when existing topics have another partition count than ``wanted``.

    Faust assigns the partitions it was configured with: a worker started with fewer
    failed on the first record of another ('Unrecognized partition') and then ignored
    SIGTERM, and one with more would wait for partitions that do not exist.
    """
    wrong = partition_mismatches(wanted, existing)
    if not wrong:
        return
    counts = sorted({existing[name.rsplit(" (", 1)[0]] for name in wrong})
    shown = ", ".join(wrong[:4]) + (f" and {len(wrong) - 4} more" if len(wrong) > 4 else "")
    hint = (
        f"start with --partitions {counts[0]} (or RECSYS_PARTITIONS={counts[0]})"
        if len(counts) == 1
        else "the topics disagree among themselves; see docs/scaling.md"
    )
    raise ConfigError(
        f"topics on {bootstrap} have other partition counts than the {wanted} configured: "
        f"{shown}; {hint}"
    )


async def ensure_topics(bootstrap: str, partitions: int, replication: int = 1) -> list[str]:
    """Create the missing topics; return the names created. Existing topics are kept,
    and must have ``partitions`` partitions (``check_partitions``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="recsys-admin")
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        ours = [s.name for s in topic_specs(partitions, replication) if s.name in existing]
        if ours:
            described = await admin.describe_topics(ours)
            check_partitions(
                bootstrap, partitions, {t["topic"]: len(t["partitions"]) for t in described}
            )
        missing = [s for s in topic_specs(partitions, replication) if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics([spec])
            except TopicAlreadyExistsError:
                continue
        return [s.name for s in missing]
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()


class AdminProbe:
    """Answers "is the broker reachable?" with a cached metadata request."""

    def __init__(self, bootstrap: str, timeout_s: float = 2.0) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._admin: AIOKafkaAdminClient | None = None

    async def reachable(self) -> bool:
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.bootstrap,
                    client_id="recsys-readyz",
                    request_timeout_ms=int(self.timeout_s * 1000),
                )
                await asyncio.wait_for(admin.start(), self.timeout_s)
                self._admin = admin
            await asyncio.wait_for(self._admin.list_topics(), self.timeout_s)
            return True
        except (KafkaError, TimeoutError, OSError) as exc:
            log.warning("broker %s not reachable: %s", self.bootstrap, exc)
            await self.close()
            return False

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except (KafkaError, OSError):  # closing a broken client; nothing to save
                log.debug("closing admin client failed", exc_info=True)
