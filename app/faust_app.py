"""The Faust app object, configured from settings for the embedded broker and real Kafka."""

from __future__ import annotations

import faust

from app.settings import Settings


def make_faust_app(settings: Settings) -> faust.App:
    """One Faust app; its local state lives under ``settings.data_dir``, not the CWD."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store=settings.store,
        datadir=str(settings.data_dir / f"{settings.app_id}-data"),
        # The embedded broker makes the first group join wait half the session timeout.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # acks=0 breaks aiokafka on the embedded broker; keep the Kafka-standard default.
        producer_acks=-1,
        web_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="json",
    )
