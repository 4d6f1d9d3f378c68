"""The OpenAPI document covers exactly the routes the app serves."""

from __future__ import annotations

import yaml
from aiohttp import web

from serving.app import create_app
from serving.openapi import document
from tests.unit.serving.app_fixtures import harness


def routes(app: web.Application) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        out.add((route.method.lower(), str(path)))
    return out


def documented() -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document()["paths"].items()
            for method in ops if method != "parameters"}


async def test_every_route_is_documented_and_back():
    async with harness() as hs:
        assert routes(hs.client.app) == documented()


async def test_served_document_is_openapi_3_1():
    async with harness() as hs:
        resp = await hs.client.get("/openapi.json")
        doc = await resp.json()
        assert doc["openapi"] == "3.1.0"
        assert doc == document()
        as_yaml = await hs.client.get("/openapi.yaml")
        assert as_yaml.content_type == "application/yaml"
        assert yaml.safe_load(await as_yaml.text()) == doc


def test_docs_can_be_switched_off():
    from serving.config_store import InMemoryConfigStore
    from serving.deps import ServingDeps, ServingSettings
    from serving.sink import InMemorySink
    from serving.views import InMemoryViews

    v = InMemoryViews()
    app = create_app(ServingDeps(v, v, InMemorySink(), InMemoryConfigStore(),
                                 ServingSettings(exposure_salt="s", docs_enabled=False)))
    assert not {("get", "/openapi.json"), ("get", "/openapi.yaml")} & routes(app)
