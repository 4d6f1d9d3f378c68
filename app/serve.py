"""``recsys serve``: one serving replica with the full API, reading the published views.

Any number of replicas can run against the same Kafka: each reads the view topics and
the catalog whole (``ViewReader``), keeps tenant config/rules from the compacted config
topic (``KafkaConfigStore``), and logs its exposures and assignments back to Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from app.kafka_admin import AdminProbe
from app.settings import Settings
from schemas.codec import AvroCodec
from schemas.errors import ConfigError
from schemas.producer import EventProducer
from schemas.registry import open_registry
from serving.app import create_app
from serving.config_kafka import KafkaConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.sink_kafka import KafkaEventSink
from serving.view_reader import ViewReader

log = logging.getLogger(__name__)
DEV_SALT = "recsys-dev-salt-not-for-production"
ALL_ROLES = frozenset({"viewer", "operator", "admin"})


async def build_serving_app(settings: Settings) -> web.Application:
    """The full serving app over Kafka-backed views, config store and exposure sink."""
    registry = await open_registry(settings.schema_registry_url)
    reader = ViewReader(settings.bootstrap, AvroCodec(registry))
    store = KafkaConfigStore(settings.bootstrap, replication=settings.replication_factor)
    sink = KafkaEventSink(
        EventProducer(settings.bootstrap, registry=registry, client_id="recsys-serving")
    )
    probe = AdminProbe(settings.bootstrap)
    salt = settings.user_id_salt
    if salt is None:
        log.warning(
            "RECSYS_USER_ID_SALT is not set: exposures are pseudonymized with a "
            "development salt, and live history is looked up by raw user ids"
        )
    log.warning(
        "no API keys configured: every request may act as admin for the tenant "
        "named in X-Org-Id (development mode)"
    )
    deps = ServingDeps(
        popularity=reader,
        covisitation=reader,
        catalog=reader,
        history=reader,
        sink=sink,
        config_store=store,
        keys=None,
        settings=ServingSettings(
            exposure_salt=salt or DEV_SALT,
            open_roles=ALL_ROLES,
            history_ids_pseudonymous=salt is not None,
        ),
        ready_checks={"views": reader.ready, "broker": probe.reachable},
        resources=(reader, store),
    )
    return create_app(deps)


async def run_serving_until_signal(settings: Settings) -> None:
    if settings.embedded_broker:
        raise ConfigError("recsys serve needs RECSYS_KAFKA_BOOTSTRAP (a running broker)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(await build_serving_app(settings))
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    print(
        f"recsys serve: http://{settings.http_host}:{settings.http_port} "
        f"(views from {settings.bootstrap})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
