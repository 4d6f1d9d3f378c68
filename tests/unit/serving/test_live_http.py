"""The live evaluation API: JSON snapshots, tenant isolation, the SSE stream, /metrics
and the dashboard's files, over an in-memory live source."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import jsonschema
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, settings

from schemas.errors import ConfigError
from serving.app import create_app
from serving.config_store import InMemoryConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.live_http import LIVE, add_live_routes, scoped_overview, sse_event
from serving.live_source import InMemoryLiveSource, LiveSource
from serving.metrics import label_value, live_lines
from serving.openapi import LIVE_EXPERIMENT, LIVE_OVERVIEW, document
from serving.sink import InMemorySink
from serving.views import InMemoryViews
from tests.unit.serving.app_fixtures import headers, ring

LIVE_LABELS = {"tenant", "surface", "experiment", "variant"}


def ns(tenant: str, surface: str, exposures: int) -> dict[str, Any]:
    return {"tenant": tenant, "surface": surface, "exposures": exposures,
            "outcomes": exposures // 10, "exposure_join_rate": 0.9, "outcome_join_rate": 0.95,
            "orphans": 1, "duplicates": 2, "empty_list_rate": 0.01, "error_rate": 0.001,
            "latency_p95_ms": 42.0}


def experiment_doc(experiment_id: str, variants: tuple[str, ...] = ("A", "B")) -> dict[str, Any]:
    rows = [{"variant": v, "exposures": 100 + i, "clicks": 10 + i, "conversions": 1,
             "revenue": 9.5, "ctr": 0.1, "conversion_rate": 0.01, "revenue_per_request": 0.095,
             "per_request_ctr": 0.1, "per_request_ctr_ci": [0.05, 0.15]}
            for i, v in enumerate(variants)]
    return {"experiment_id": experiment_id, "as_of_ms": 1000, "variants": rows,
            "by_segment": {}, "by_surface": {"home": rows},
            "guardrails": {"per_variant": []}, "significance": [],
            "srm": {"chi2": 0.1, "p_value": 0.75, "alarm": False,
                    "observed": {v: 100 for v in variants},
                    "expected_share": {v: 1 / len(variants) for v in variants}}}


class TenantLiveSource:
    """A ``LiveSource`` holding each tenant's namespaces and experiments apart."""

    def __init__(self) -> None:
        self.namespaces = {"t1": [ns("t1", "home", 500)], "t2": [ns("t2", "pdp", 70)]}
        self.experiments = {"t1": {"exp-t1": experiment_doc("exp-t1")},
                            "t2": {"exp-t2": experiment_doc("exp-t2", ("x", "y"))}}
        self.fail = False

    def _tenants(self, tenant: str | None) -> list[str]:
        return sorted(self.namespaces) if tenant is None else [tenant]

    def overview(self, tenant: str | None = None) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("snapshot store gone")
        rows = [r for t in self._tenants(tenant) for r in self.namespaces.get(t, [])]
        return {"as_of_ms": 1000, "totals": ns("", "", sum(r["exposures"] for r in rows)),
                "namespaces": rows, "dead_letters": 7, "lag_records": 12,
                "experiments": self.experiment_ids(tenant)}

    def experiment(self, experiment_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        for t in self._tenants(tenant):
            doc = self.experiments.get(t, {}).get(experiment_id)
            if doc is not None:
                return doc
        return None

    def experiment_ids(self, tenant: str | None = None) -> list[str]:
        return sorted(e for t in self._tenants(tenant) for e in self.experiments.get(t, {}))


@asynccontextmanager
async def live_client(source: LiveSource | None = None, *, keys: Any = "ring",
                      open_roles: frozenset[str] = frozenset(),
                      interval_s: float = 0.02,
                      ) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    views = InMemoryViews()
    deps = ServingDeps(
        popularity=views, catalog=views, sink=InMemorySink(),
        config_store=InMemoryConfigStore(),
        settings=ServingSettings(exposure_salt="s", rate_refill_per_s=0, open_roles=open_roles),
        keys=ring() if keys == "ring" else keys,
        live=source if source is not None else TenantLiveSource())
    app = create_app(deps)
    app[LIVE].interval_s = interval_s
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


# ---- JSON endpoints ----------------------------------------------------------------------

async def test_overview_is_the_callers_tenants() -> None:
    async with live_client() as client:
        resp = await client.get("/v1/live/overview", headers=headers("t1-viewer"))
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        doc = await resp.json()
        jsonschema.validate(doc, LIVE_OVERVIEW)
        assert [(r["tenant"], r["surface"]) for r in doc["namespaces"]] == [("t1", "home")]
        assert doc["experiments"] == ["exp-t1"]
        assert doc["dead_letters"] == 7


async def test_experiment_document() -> None:
    async with live_client() as client:
        resp = await client.get("/v1/live/experiments/exp-t1", headers=headers("t1-viewer"))
        assert resp.status == 200
        doc = await resp.json()
        jsonschema.validate(doc, LIVE_EXPERIMENT)
        assert [v["variant"] for v in doc["variants"]] == ["A", "B"]
        assert doc["srm"]["alarm"] is False


@pytest.mark.parametrize(("key", "path", "status", "code"), [
    ("t1-viewer", "/v1/live/experiments/nope", 404, "RECSYS_NOT_FOUND"),
    # another tenant's experiment is indistinguishable from an unknown one
    ("t1-admin", "/v1/live/experiments/exp-t2", 404, "RECSYS_NOT_FOUND"),
    ("t2-admin", "/v1/live/experiments/exp-t1", 404, "RECSYS_NOT_FOUND"),
    ("", "/v1/live/overview", 401, "RECSYS_AUTH_REQUIRED"),
    ("bogus", "/v1/live/stream", 401, "RECSYS_AUTH_INVALID"),
])
async def test_refusals_are_problems(key: str, path: str, status: int, code: str) -> None:
    async with live_client() as client:
        resp = await client.get(path, headers=headers(key))
        assert resp.status == status
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["code"] == code


async def test_tenant_header_of_another_tenant_is_forbidden() -> None:
    async with live_client() as client:
        for path in ("/v1/live/overview", "/v1/live/experiments/exp-t2", "/v1/live/stream"):
            resp = await client.get(path, headers=headers("t1-admin", **{"X-Org-Id": "t2"}))
            assert resp.status == 403
            assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_MISMATCH"


async def test_tenant_b_sees_none_of_tenant_a() -> None:
    async with live_client() as client:
        resp = await client.get("/v1/live/overview", headers=headers("t2-admin"))
        text = await resp.text()
        assert "t1" not in text and "exp-t1" not in text
        assert (await resp.json())["experiments"] == ["exp-t2"]


async def test_open_mode_scopes_by_header_and_needs_an_open_role() -> None:
    async with live_client(keys=None, open_roles=frozenset({"viewer"})) as client:
        resp = await client.get("/v1/live/overview", headers={"X-Org-Id": "t2"})
        assert [r["tenant"] for r in (await resp.json())["namespaces"]] == ["t2"]
        resp = await client.get("/v1/live/overview")
        assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_REQUIRED"
    async with live_client(keys=None) as client:  # like the admin GETs: no role, no read
        resp = await client.get("/v1/live/overview", headers={"X-Org-Id": "t1"})
        assert resp.status == 403
        assert (await resp.json())["code"] == "RECSYS_FORBIDDEN"


async def test_namespaces_of_other_tenants_are_dropped_even_if_the_source_ignores_tenant(
) -> None:
    leaky = InMemoryLiveSource({"as_of_ms": 1, "totals": {}, "namespaces": [
        ns("t1", "home", 5), ns("t2", "home", 9)]}, {})
    async with live_client(leaky) as client:
        doc = await (await client.get("/v1/live/overview", headers=headers("t1-viewer"))).json()
        assert [r["tenant"] for r in doc["namespaces"]] == ["t1"]
    assert scoped_overview({"namespaces": [ns("a", "s", 1), "junk"]}, "a")["namespaces"] == [
        ns("a", "s", 1)]


# ---- the SSE stream ------------------------------------------------------------------------

async def read_events(resp: Any, n: int, timeout_s: float = 5.0) -> list[tuple[str, Any]]:
    """The first ``n`` frames as (event, data) pairs; a comment frame is ("comment", text)."""
    import orjson

    out: list[tuple[str, Any]] = []
    async with asyncio.timeout(timeout_s):
        while len(out) < n:
            frame = (await resp.content.readuntil(b"\n\n")).decode().strip()
            if frame.startswith(":"):
                out.append(("comment", frame[1:].strip()))
            elif frame.startswith("event: "):
                head, data = frame.split("\n", 1)
                out.append((head.removeprefix("event: "),
                            orjson.loads(data.removeprefix("data: "))))
    return out


async def wait_until(condition: Any, timeout_s: float = 3.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def test_stream_sends_overview_experiments_and_heartbeat_then_stops_on_disconnect(
) -> None:
    async with live_client() as client:
        state = client.app[LIVE]
        resp = await client.get("/v1/live/stream", headers=headers("t1-viewer"))
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert resp.headers["Cache-Control"] == "no-store"
        assert (await resp.content.readuntil(b"\n\n")).startswith(b"retry: ")
        frames = await read_events(resp, 6)
        assert [e for e, _ in frames] == ["overview", "experiment", "comment"] * 2
        assert frames[0][1]["namespaces"][0]["tenant"] == "t1"
        assert frames[1][1]["experiment_id"] == "exp-t1"  # never exp-t2
        assert state.open_streams == 1
        resp.close()  # the client goes away
        await wait_until(lambda: state.open_streams == 0)


async def test_open_streams_do_not_hold_up_shutdown() -> None:
    async with live_client(interval_s=30.0) as client:  # a stream asleep between ticks
        resp = await client.get("/v1/live/stream", headers=headers("t1-viewer"))
        await read_events(resp, 3)
        async with asyncio.timeout(5):  # aiohttp would otherwise wait its 60 s timeout
            closing = asyncio.ensure_future(client.server.close())
            rest = await resp.content.read()  # the server ends the chunked body cleanly
            await closing
        assert rest == b""
        assert client.app[LIVE].open_streams == 0


async def test_a_stream_ends_after_its_maximum_age() -> None:
    async with live_client() as client:
        client.app[LIVE].max_stream_s = 0.1
        resp = await client.get("/v1/live/stream", headers=headers("t1-viewer"))
        async with asyncio.timeout(5):
            body = await resp.content.read()  # clean end of the chunked body
        assert body.startswith(b"retry: ") and body.count(b"event: overview") >= 2
        await wait_until(lambda: client.app[LIVE].open_streams == 0)


async def test_a_failing_source_ends_the_stream_cleanly() -> None:
    source = TenantLiveSource()
    async with live_client(source) as client:
        resp = await client.get("/v1/live/stream", headers=headers("t1-viewer"))
        await read_events(resp, 3)
        source.fail = True
        async with asyncio.timeout(5):
            tail = await resp.content.read()
        assert b"problem" not in tail and b"HTTP/1.1" not in tail
        assert client.app[LIVE].open_streams == 0


def test_sse_frame_is_one_data_line() -> None:
    assert sse_event("overview", {"a": "x\ny"}) == b'event: overview\ndata: {"a":"x\\ny"}\n\n'


def test_interval_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="interval_s"):
        add_live_routes(web.Application(), TenantLiveSource(), interval_s=0)


# ---- /metrics -------------------------------------------------------------------------------

async def test_metrics_have_the_live_series_with_only_namespace_and_arm_labels() -> None:
    async with live_client() as client:
        await client.get("/v1/live/overview", headers=headers("t1-viewer", **{
            "X-Request-Id": "req-secret-123"}))
        text = await (await client.get("/metrics")).text()
    assert 'recsys_live_exposures_total{tenant="t1",surface="home"} 500' in text
    assert 'recsys_live_exposures_total{tenant="t2",surface="pdp"} 70' in text
    assert 'recsys_live_exposure_join_rate{tenant="t1",surface="home"} 0.9' in text
    assert 'recsys_live_latency_p95_seconds{tenant="t1",surface="home"} 0.042' in text
    assert "recsys_live_dead_letters_total 7" in text
    assert "recsys_live_lag_records 12" in text
    assert 'recsys_live_variant_clicks_total{experiment="exp-t2",variant="y"} 11' in text
    assert 'recsys_live_srm_alarm{experiment="exp-t1"} 0' in text
    assert "req-secret-123" not in text
    for line in text.splitlines():
        if line.startswith("recsys_live_") and "{" in line:
            labels = set(re.findall(r'(\w+)="', line))
            assert labels <= LIVE_LABELS, line


async def test_metrics_without_a_live_source_have_no_live_series() -> None:
    from tests.unit.serving.app_fixtures import harness

    async with harness() as hs:
        text = await (await hs.client.get("/metrics")).text()
        assert "recsys_live_" not in text
        assert (await hs.client.get("/v1/live/overview", headers=headers())).status == 404


def test_live_lines_skip_missing_values_and_escape_labels() -> None:
    lines = live_lines({"namespaces": [{"tenant": 'a"b', "surface": "x\\y\nz",
                                        "exposures": 3, "error_rate": None}]}, {})
    assert 'recsys_live_exposures_total{tenant="a\\"b",surface="x\\\\y\\nz"} 3' in lines
    assert not any(line.startswith("recsys_live_error_rate") for line in lines)
    assert not any("dead_letters" in line for line in lines)
    assert label_value("plain") == "plain"


# ---- the dashboard and the document ------------------------------------------------------------

async def test_dashboard_and_its_files_are_served_without_credentials() -> None:
    async with live_client() as client:
        page = await client.get("/dashboard")
        assert page.status == 200 and page.content_type == "text/html"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        html = await page.text()
        for ref in re.findall(r'(?:href|src)="(dashboard/[^"]+)"', html):
            asset = await client.get("/" + ref)
            assert asset.status == 200, ref
        assert (await client.get("/dashboard/dashboard.js")).content_type == "text/javascript"
        missing = await client.get("/dashboard/..%2Fapp.py")
        assert missing.status == 404
        assert (await missing.json())["code"] == "RECSYS_NOT_FOUND"


def _routes(app: web.Application) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        out.add((route.method.lower(), str(info.get("path") or info.get("formatter"))))
    return out


async def test_openapi_documents_the_live_routes_when_served() -> None:
    async with live_client() as client:
        served = await (await client.get("/openapi.json")).json()
        assert served == document(live=True)
        documented = {(m, p) for p, ops in served["paths"].items() for m in ops
                      if m != "parameters"}
        assert _routes(client.app) == documented


# ---- fuzz: the live routes against their OpenAPI operations -------------------------------

live_schema = schemathesis.openapi.from_dict(document(live=True)).include(
    path_regex=r"^/(v1/live/(overview|experiments)|dashboard)").exclude(path="/v1/live/stream")


@pytest.fixture(scope="module")
def live_base_url() -> Iterator[str]:
    """The live app on a loopback port in a thread of its own (schemathesis calls are sync)."""
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []
    ports: list[int] = []

    async def start() -> None:
        views = InMemoryViews()
        deps = ServingDeps(popularity=views, catalog=views, sink=InMemorySink(),
                           config_store=InMemoryConfigStore(),
                           settings=ServingSettings(exposure_salt="s", rate_refill_per_s=0),
                           keys=ring(), live=TenantLiveSource())
        runner = web.AppRunner(create_app(deps))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{ports[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runners[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@live_schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_live_routes_conform(case: schemathesis.Case, live_base_url: str) -> None:
    response = case.call(base_url=live_base_url, headers={"X-API-Key": "t1-viewer"})
    case.validate_response(response)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
