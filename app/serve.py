"""``recsys serve``: one serving replica with the full API, reading the published views.

Any number of replicas can run against the same Kafka: each reads the view topics and
the catalog whole (``ViewReader``), keeps tenant config/rules from the compacted config
topic (``KafkaConfigStore``), and logs its exposures and assignments back to Kafka.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiokafka.errors import KafkaError

from app.kafka_admin import AdminProbe
from app.settings import Settings
from schemas.codec import AvroCodec
from schemas.errors import BrokerError, ConfigError
from schemas.producer import EventProducer
from schemas.registry import open_registry
from serving.app import create_app
from serving.auth import KeyRing
from serving.config_kafka import KafkaConfigStore
from serving.deps import ReadyCheck, Resource, ServingDeps, ServingSettings
from serving.kafka_gauges import KafkaGauges
from serving.key_reload import FileKeyRing
from serving.live_reader import LiveReader
from serving.loop import freeze_when_ready
from serving.sink_kafka import KafkaEventSink
from serving.view_reader import ViewReader
from serving.views import PopularityView

log = logging.getLogger(__name__)
DEV_SALT = "recsys-dev-salt-not-for-production"
ALL_ROLES = frozenset({"viewer", "operator", "admin"})


def key_ring(settings: Settings) -> KeyRing | None:
    """The API keys of ``RECSYS_API_KEYS_FILE``, followed while serving (``FileKeyRing``);
    ``None`` without a file: open development mode."""
    if settings.api_keys_file is None:
        return None
    if not settings.api_key_secret:
        raise ConfigError(
            f"RECSYS_API_KEYS_FILE={settings.api_keys_file} needs RECSYS_API_KEY_SECRET: the "
            "stored keys are HMAC-SHA256 hashes under that secret"
        )
    return FileKeyRing(settings.api_key_secret, settings.api_keys_file)


@dataclass
class ServingParts:
    """The serving app and the readers inside it (``recsys up`` reads them for its summary)."""

    app: web.Application
    views: ViewReader
    live: LiveReader


async def build_serving_app(
    settings: Settings,
    *,
    popularity: Callable[[ViewReader], PopularityView] | None = None,
    extra_ready: dict[str, ReadyCheck] | None = None,
    extra_resources: tuple[Resource, ...] = (),
    keys: KeyRing | None = None,
) -> ServingParts:
    """The full serving app over Kafka-backed views, config store and exposure sink,
    with the live evaluation (``/v1/live/*``, ``/dashboard``) over the live view topic.

    ``popularity`` wraps the view reader's popularity (``recsys up`` adds the items its
    in-process worker has only seen shown). ``keys`` is the key ring when the caller
    built it already (``recsys up`` does, before it starts a broker); else
    ``key_ring(settings)``.
    """
    keys = keys if keys is not None else key_ring(settings)  # a bad key file fails first
    registry = await open_registry(settings.schema_registry_url)
    reader = ViewReader(
        settings.bootstrap, AvroCodec(registry), fetch_max_wait_ms=settings.fetch_max_wait_ms
    )
    gauges = KafkaGauges(settings.bootstrap, settings.app_id)  # group id = the Faust app id
    live = LiveReader(
        settings.bootstrap, gauges=gauges, fetch_max_wait_ms=settings.fetch_max_wait_ms
    )
    store = KafkaConfigStore(
        settings.bootstrap,
        replication=settings.replication_factor,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
    )
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
    if keys is None:
        log.warning(
            "no API keys configured (RECSYS_API_KEYS_FILE): every request may act as admin "
            "for the tenant named in X-Org-Id (development mode)"
        )
    else:
        log.info("API keys from %s: %d keys", settings.api_keys_file, len(keys.by_hash))
    ready: dict[str, ReadyCheck] = {
        "views": reader.ready,
        "live": live.ready,
        "broker": probe.reachable,
        **(extra_ready or {}),
    }
    deps = ServingDeps(
        popularity=popularity(reader) if popularity is not None else reader,
        covisitation=reader,
        catalog=reader,
        history=reader,
        sink=sink,
        config_store=store,
        keys=keys,
        settings=ServingSettings(
            exposure_salt=salt or DEV_SALT,
            open_roles=ALL_ROLES if keys is None else frozenset(),
            history_ids_pseudonymous=salt is not None,
        ),
        ready_checks=ready,
        resources=(reader, live, gauges, store, *extra_resources),
        live=live,
    )
    return ServingParts(create_app(deps), reader, live)


async def run_serving_until_signal(settings: Settings) -> None:
    """``recsys serve``: one replica until SIGINT/SIGTERM. A Kafka that cannot be reached
    at start is a one-line ``BrokerError``, as are the other start failures."""
    from app.lifecycle import arm_deadline, bounded, first_or_stop, stop_on_signals

    if settings.embedded_broker:
        raise ConfigError("recsys serve needs RECSYS_KAFKA_BOOTSTRAP (a running broker)")
    stop = stop_on_signals()
    runner = await first_or_stop(_start_serving(settings), stop)
    if runner is None:
        print("recsys serve: stopped during startup", flush=True)
        return
    print(
        f"recsys serve: http://{settings.http_host}:{runner.addresses[0][1]} "
        f"(views from {settings.bootstrap}; dashboard at /dashboard)",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        arm_deadline()
        await bounded("HTTP server cleanup", runner.cleanup(), 8.0)


async def _start_serving(settings: Settings) -> web.AppRunner:
    parts = await build_serving_app(settings)
    # the loaded views out of the collector's way, and again as they change (serving.loop)
    freeze_when_ready(parts.app, parts.views.ready, refreeze_s=settings.gc_refreeze_s)
    runner = web.AppRunner(parts.app)
    try:
        await runner.setup()  # starts the Kafka readers, producer and config store
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    except BaseException as exc:
        from app.lifecycle import bounded

        await bounded("HTTP server cleanup", runner.cleanup(), 5.0)
        if isinstance(exc, KafkaError):
            raise BrokerError(
                f"cannot reach Kafka at {settings.bootstrap}: {exc}; check "
                "RECSYS_KAFKA_BOOTSTRAP"
            ) from exc
        if isinstance(exc, OSError):
            raise ConfigError(
                f"cannot listen on {settings.http_host}:{settings.http_port}: "
                f"{exc.strerror or exc}; pick another port with --port (or RECSYS_HTTP_PORT)"
            ) from exc
        raise
    return runner
