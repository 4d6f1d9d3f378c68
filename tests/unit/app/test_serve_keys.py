"""``recsys serve`` with ``RECSYS_API_KEYS_FILE``: the app ``build_serving_app`` builds.

The app is built exactly as ``recsys serve`` builds it (nothing connects to Kafka until
it starts); its Kafka-backed views, sink, store and resources are then swapped for the
in-memory ones, keeping its key ring and serving settings, so no broker is needed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.api_keys import create_key
from app.serve import ALL_ROLES, build_serving_app, key_ring
from app.settings import Settings
from schemas.errors import ConfigError
from serving.app import create_app
from serving.config_store import InMemoryConfigStore
from serving.keys import DEPS
from serving.sink import InMemorySink
from tests.unit.serving.engine_fixtures import NOW, small_views

SECRET = "serve-secret"
BODY = {"surface": "home", "k": 3, "user": {"user_id": "u1"}}


def settings_with(path: Path | None, secret: str | None = SECRET) -> Settings:
    return Settings(kafka_bootstrap="127.0.0.1:1", api_keys_file=path, api_key_secret=secret)


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[TestClient]:
    deps = (await build_serving_app(settings)).app[DEPS]
    views = small_views()
    local = dataclasses.replace(
        deps, popularity=views, covisitation=views, catalog=views, history=views,
        sink=InMemorySink(), config_store=InMemoryConfigStore(), resources=(), live=None,
        ready_checks={}, clock_ms=lambda: NOW)
    client = TestClient(TestServer(create_app(local)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_keys_from_the_file_are_required_and_scope_the_tenant(tmp_path: Path):
    path = tmp_path / "keys.json"
    settings = settings_with(path)
    raw, _ = create_key(settings, path, "t1", ["viewer"], "svc", None, NOW)
    create_key(settings, path, "t2", ["admin"], "other", None, NOW)
    async with served(settings) as client:
        resp = await client.post("/v1/recommend", json=BODY, headers={"X-Org-Id": "t1"})
        assert resp.status == 401
        assert (await resp.json())["code"] == "RECSYS_AUTH_REQUIRED"

        resp = await client.post("/v1/recommend", json=BODY, headers={"X-API-Key": "rsk_x"})
        assert resp.status == 401
        assert (await resp.json())["code"] == "RECSYS_AUTH_INVALID"

        # pop a=4, b=3, c=1 → s/(s+1) = 0.8, 0.75, 0.5 (engine_fixtures.small_views)
        resp = await client.post("/v1/recommend", json=BODY, headers={"X-API-Key": raw})
        assert resp.status == 200
        doc = await resp.json()
        assert [(i["item_id"], i["score"]) for i in doc["items"]] == [
            ("a", 0.8), ("b", 0.75), ("c", 0.5)]
        assert doc["meta"]["tenant_id"] == "t1"

        resp = await client.post("/v1/recommend", json=BODY,
                                 headers={"X-API-Key": raw, "X-Org-Id": "t1"})
        assert resp.status == 200

        resp = await client.post("/v1/recommend", json=BODY,
                                 headers={"X-API-Key": raw, "X-Org-Id": "t2"})
        assert resp.status == 403
        assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_MISMATCH"

        # the viewer key reads its tenant's config, may not write it, nor read t2's
        admin = "/v1/admin/tenants/{}/config"
        resp = await client.put(admin.format("t1"), json={"weights": {"pop": 1}},
                                headers={"X-API-Key": raw})
        assert (resp.status, (await resp.json())["code"]) == (403, "RECSYS_FORBIDDEN")
        resp = await client.get(admin.format("t2"), headers={"X-API-Key": raw})
        assert (resp.status, (await resp.json())["code"]) == (
            403, "RECSYS_TENANT_SCOPE_MISMATCH")


async def test_without_a_key_file_serving_stays_in_open_mode(caplog):
    with caplog.at_level(logging.WARNING, logger="app.serve"):
        async with served(settings_with(None)) as client:
            assert client.app[DEPS].keys is None
            assert client.app[DEPS].settings.open_roles == ALL_ROLES
            resp = await client.post("/v1/recommend", json=BODY, headers={"X-Org-Id": "t1"})
            assert resp.status == 200
    assert "development mode" in caplog.text


def test_a_key_file_needs_the_secret_and_must_load(tmp_path: Path):
    path = tmp_path / "keys.json"
    with pytest.raises(ConfigError, match=f"RECSYS_API_KEYS_FILE={path} needs "
                                          "RECSYS_API_KEY_SECRET"):
        key_ring(settings_with(path, secret=None))
    with pytest.raises(ConfigError, match=f"API keys file {path}: no such file"):
        key_ring(settings_with(path))
    path.write_text("[]")
    ring = key_ring(settings_with(path))
    assert ring is not None and ring.by_hash == {}
