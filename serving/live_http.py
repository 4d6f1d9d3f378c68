"""The live evaluation API: JSON snapshots, a Server-Sent Events stream, the dashboard.

Routes, added by ``add_live_routes`` when ``ServingDeps.live`` is set:

* ``GET /v1/live/overview`` — join rates, throughput counters, lag, dead letters;
* ``GET /v1/live/experiments/{experiment_id}`` — per-variant metrics, guardrails,
  significance and SRM (404 ``RECSYS_NOT_FOUND`` when the caller's tenant has none);
* ``GET /v1/live/stream`` — ``text/event-stream``: every ``interval_s`` an ``overview``
  event, one ``experiment`` event per experiment, and a ``: heartbeat`` comment;
* ``GET /dashboard`` and ``/dashboard/{asset}`` — the page in ``serving/static/``.

Reads are scoped like the admin API's GETs: a viewer, operator or admin role, and only
the caller's tenant (the key's, or ``X-Org-Id`` in open mode) is passed to the source.
Streams end when the client goes away and when the app shuts down (``on_shutdown``
runs before aiohttp waits for open handlers, so graceful shutdown never waits on them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from schemas.errors import ConfigError, ServingError
from serving.auth import READ_ROLES, require_roles
from serving.handlers import NO_STORE, json_response
from serving.keys import PRINCIPAL, REQUEST_ID
from serving.live_source import LiveSource

log = logging.getLogger(__name__)

#: served asset name → content type; anything else under /dashboard/ is a 404
ASSETS = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
PAGE = "dashboard.html"
# the page loads nothing but its own files and talks only to this origin
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
               "X-Accel-Buffering": "no"}  # nginx: do not buffer the stream


@dataclass(slots=True)
class LiveState:
    """The live source and the streams' shared stop signal."""

    source: LiveSource
    interval_s: float = 1.0
    retry_ms: int = 3000
    # a stream ends after this long and the client reconnects (``retry``), so long-lived
    # connections spread over replicas again after a deploy or a scale-out
    max_stream_s: float = 600.0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    open_streams: int = 0
    files: dict[str, bytes] = field(default_factory=dict)


LIVE: web.AppKey[LiveState] = web.AppKey("live", LiveState)


def scoped_overview(doc: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The overview with only ``tenant``'s namespaces: the source already scopes it; this
    keeps another tenant's rows out even if a source ignores the argument."""
    rows = doc.get("namespaces")
    if isinstance(rows, list):
        doc["namespaces"] = [r for r in rows if isinstance(r, dict) and r.get("tenant") == tenant]
    return doc


def sse_event(event: str, data: object) -> bytes:
    """One SSE frame; orjson output has no newlines, so one ``data:`` line suffices."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def snapshot_frames(source: LiveSource, tenant: str) -> bytes:
    """The frames of one tick: the overview, then each experiment the tenant has."""
    frames = [sse_event("overview", scoped_overview(source.overview(tenant), tenant))]
    for experiment_id in source.experiment_ids(tenant):
        doc = source.experiment(experiment_id, tenant)
        if doc is not None:
            frames.append(sse_event("experiment", doc))
    frames.append(b": heartbeat\n\n")
    return b"".join(frames)


def _caller_tenant(request: web.Request) -> str:
    principal = request[PRINCIPAL]
    require_roles(principal, READ_ROLES, "reading live metrics")
    return principal.tenant


async def overview(request: web.Request) -> web.Response:
    tenant = _caller_tenant(request)
    doc = request.app[LIVE].source.overview(tenant)
    return json_response(scoped_overview(doc, tenant), headers=NO_STORE)


async def experiment(request: web.Request) -> web.Response:
    tenant = _caller_tenant(request)
    experiment_id = request.match_info["experiment_id"]
    doc = request.app[LIVE].source.experiment(experiment_id, tenant)
    if doc is None:  # another tenant's experiment looks exactly like an unknown one
        raise ServingError(f"no live experiment {experiment_id!r} for this tenant",
                           status=404, code="RECSYS_NOT_FOUND")
    return json_response(doc, headers=NO_STORE)


async def _wait_or_stop(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``; True as soon as the app is shutting down."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


async def stream(request: web.Request) -> web.StreamResponse:
    """SSE: a snapshot every ``interval_s`` until the client leaves or the app stops."""
    tenant = _caller_tenant(request)
    state = request.app[LIVE]
    response = web.StreamResponse(headers={**SSE_HEADERS,
                                           "X-Request-Id": request[REQUEST_ID]})
    await response.prepare(request)
    state.open_streams += 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.max_stream_s
    try:
        await response.write(f"retry: {state.retry_ms}\n\n".encode())
        while not state.stopping.is_set():
            try:
                frames = snapshot_frames(state.source, tenant)
            except Exception:  # the response has started: end it, the client reconnects
                log.exception("live source failed; closing the stream")
                break
            await response.write(frames)
            pause = min(state.interval_s, deadline - loop.time())
            if pause <= 0 or await _wait_or_stop(state.stopping, pause):
                break
        await response.write_eof()
    except ConnectionError:  # the client went away (aiohttp's reset error is one)
        log.debug("live stream client disconnected")
    finally:
        state.open_streams -= 1
    return response


async def dashboard(request: web.Request) -> web.Response:
    body = request.app[LIVE].files[PAGE]
    return web.Response(body=body, content_type="text/html", charset="utf-8",
                        headers=PAGE_HEADERS)


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    if name not in ASSETS:
        raise ServingError(f"no dashboard asset {name!r}", status=404, code="RECSYS_NOT_FOUND")
    return web.Response(body=request.app[LIVE].files[name], content_type=ASSETS[name],
                        charset="utf-8", headers=PAGE_HEADERS)


def load_static(names: Iterable[str]) -> dict[str, bytes]:
    """The dashboard files, read once from the package's ``static/`` folder."""
    folder = resources.files("serving").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in names}


async def _stop_streams(app: web.Application) -> None:
    app[LIVE].stopping.set()


def add_live_routes(app: web.Application, source: LiveSource, *,
                    interval_s: float = 1.0) -> None:
    """Serve the live API, stream and dashboard of ``source`` on ``app``."""
    if interval_s <= 0:
        raise ConfigError("the live stream interval_s must be > 0")
    app[LIVE] = LiveState(source, interval_s, files=load_static([PAGE, *ASSETS]))
    app.on_shutdown.append(_stop_streams)
    r = app.router
    r.add_get("/v1/live/overview", overview, allow_head=False)
    r.add_get("/v1/live/experiments/{experiment_id}", experiment, allow_head=False)
    r.add_get("/v1/live/stream", stream, allow_head=False)
    r.add_get("/dashboard", dashboard, allow_head=False)
    r.add_get("/dashboard/{asset}", asset, allow_head=False)
