"""An app over in-memory views, sink, store and key ring, with a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from serving.app import create_app
from serving.auth import KeyRing
from serving.config_store import InMemoryConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.sink import InMemorySink
from serving.views import InMemoryViews
from tests.unit.serving.engine_fixtures import NOW, small_views

SALT = "exposure-salt"
KEYS = {
    "t1-admin": ("t1", ["admin"]),
    "t1-operator": ("t1", ["operator"]),
    "t1-viewer": ("t1", ["viewer"]),
    "t2-admin": ("t2", ["admin"]),
}


def headers(key: str = "t1-admin", **extra: str) -> dict[str, str]:
    return {"X-API-Key": key, **extra}


@dataclass
class Harness:
    client: TestClient
    views: InMemoryViews
    sink: InMemorySink
    store: InMemoryConfigStore
    clock: dict[str, float] = field(default_factory=dict)

    async def post(self, path: str, body: Any, key: str = "t1-admin", **h: str) -> Any:
        return await self.client.post(path, json=body, headers=headers(key, **h))


def ring() -> KeyRing:
    r = KeyRing("key-secret")
    for raw, (tenant, roles) in KEYS.items():
        r.add(raw, tenant, roles, key_id=raw)
    return r


@asynccontextmanager
async def harness(views: InMemoryViews | None = None, *, keys: KeyRing | None | str = "ring",
                  sink: Any = None, **settings: Any) -> AsyncIterator[Harness]:
    views = views or small_views()
    sink = sink if sink is not None else InMemorySink()
    store = InMemoryConfigStore()
    clock = {"mono": 0.0}
    deps = ServingDeps(
        popularity=views, catalog=views, covisitation=views, history=views, sink=sink,
        config_store=store, settings=ServingSettings(exposure_salt=SALT, **settings),
        keys=ring() if keys == "ring" else keys,  # type: ignore[arg-type]
        clock_ms=lambda: NOW, monotonic=lambda: clock["mono"],
    )
    client = TestClient(TestServer(create_app(deps)))
    await client.start_server()
    try:
        yield Harness(client, views, sink, store, clock)
    finally:
        await client.close()
