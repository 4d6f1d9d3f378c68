"""The live dashboard in a real browser: headless Chromium loads /dashboard from an
in-process app whose live documents change on every read (events being produced), and
the page's charts must have drawn points. A screenshot is kept as a test artifact
(``tests/artifacts/dashboard.png``); ``docs/img/dashboard.png`` is a copy of one from a
run that caught many snapshots.

Needs Debian's ``chromium`` (``make test`` installs it); skipped without it.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from serving.app import create_app
from serving.auth import KeyRing
from serving.config_store import InMemoryConfigStore
from serving.deps import ServingDeps, ServingSettings
from serving.live_http import LIVE
from serving.sink import InMemorySink
from serving.views import InMemoryViews

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
VARIANTS = (("control", 0.050, 0.5), ("treatment", 0.058, 0.5))
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


def _ns(exposures: int, outcomes: int, join: float) -> dict[str, Any]:
    return {"exposures": exposures, "outcomes": outcomes, "exposure_join_rate": join,
            "outcome_join_rate": min(1.0, join + 0.04), "orphans": outcomes // 50,
            "duplicates": exposures // 400, "empty_list_rate": 0.012, "error_rate": 0.001,
            "latency_p95_ms": 38.0}


class GrowingLiveSource:
    """A tenant-aware ``LiveSource`` whose counts grow one simulated second per overview
    read, like a live join consuming traffic; deterministic (no clock, no randomness)."""

    def __init__(self, tenant: str = "t1") -> None:
        self.tenant = tenant
        self.step = 0

    def _mine(self, tenant: str | None) -> bool:
        return tenant is None or tenant == self.tenant

    def overview(self, tenant: str | None = None) -> dict[str, Any]:
        self.step += 1
        n = self.step
        home = _ns(4000 + 240 * n + 30 * (n % 3), 300 + 21 * n, 0.91 + 0.03 * math.sin(n / 2))
        pdp = _ns(1500 + 90 * n, 120 + 8 * n, 0.88 + 0.02 * math.cos(n / 3))
        totals = _ns(home["exposures"] + pdp["exposures"], home["outcomes"] + pdp["outcomes"],
                     (home["exposure_join_rate"] + pdp["exposure_join_rate"]) / 2)
        rows = [{**home, "tenant": self.tenant, "surface": "home"},
                {**pdp, "tenant": self.tenant, "surface": "pdp"}]
        return {"as_of_ms": BASE_MS + 1000 * n, "totals": totals if self._mine(tenant) else
                _ns(0, 0, 0.0), "namespaces": rows if self._mine(tenant) else [],
                "dead_letters": 3 + n // 4, "lag_records": 40 + 7 * (n % 5),
                "experiments": self.experiment_ids(tenant)}

    def experiment_ids(self, tenant: str | None = None) -> list[str]:
        return ["exp-ranker-v2"] if self._mine(tenant) else []

    def experiment(self, experiment_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        if experiment_id != "exp-ranker-v2" or not self._mine(tenant):
            return None
        n = max(self.step, 1)
        rows, observed = [], {}
        for i, (variant, ctr, _) in enumerate(VARIANTS):
            exposures = 1200 + 60 * n + 5 * i * (n % 7)
            clicks = round(exposures * (ctr + 0.004 * math.sin(n / 2 + i)))
            half = 1.96 * math.sqrt(ctr * (1 - ctr) / exposures)
            observed[variant] = exposures
            rows.append({"variant": variant, "exposures": exposures, "clicks": clicks,
                         "conversions": clicks // 9, "revenue": round(clicks * 4.25, 2),
                         "ctr": clicks / exposures, "conversion_rate": clicks / 9 / exposures,
                         "revenue_per_request": clicks * 4.25 / exposures,
                         "per_request_ctr": clicks / exposures,
                         "per_request_ctr_ci": [clicks / exposures - half,
                                                clicks / exposures + half]})
        return {
            "experiment_id": experiment_id, "as_of_ms": BASE_MS + 1000 * n, "variants": rows,
            "by_segment": {}, "by_surface": {"home": rows},
            "guardrails": {"per_variant": [
                {"variant": v, "empty_rate": 0.01, "error_rate": 0.001,
                 "latency_p95_ms": 41.0 if v == "control" else 260.0, "pass_empty_rate": True,
                 "pass_error_rate": True, "pass_latency": v == "control"}
                for v, _, _ in VARIANTS]},
            "significance": [{"metric": "ctr", "variant": "treatment", "p_value": 0.012,
                              "adjusted_p_value": 0.024, "correction": "holm",
                              "significant": True, "primary": True}],
            "srm": {"chi2": 2.1, "p_value": 0.147, "alarm": False, "observed": observed,
                    "expected_share": {v: s for v, _, s in VARIANTS}, "min_sample": 100,
                    "global": {"sample_size": sum(observed.values())}},
        }


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    views = InMemoryViews()
    ring = KeyRing("key-secret")
    ring.add("t1-viewer", "t1", ["viewer"], key_id="t1-viewer")
    deps = ServingDeps(popularity=views, catalog=views, sink=InMemorySink(),
                       config_store=InMemoryConfigStore(),
                       settings=ServingSettings(exposure_salt="salt", rate_refill_per_s=0),
                       keys=ring, live=GrowingLiveSource())
    app = create_app(deps)
    # Chromium's virtual time runs ahead while the page only waits on an open stream, but
    # pauses while a request is pending: one tick per stream and quick reconnects give the
    # page a new snapshot per reconnect (and exercise its reconnect path).
    live = app[LIVE]
    live.interval_s, live.max_stream_s, live.retry_ms = 0.05, 0.0, 400
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.wait_for(runner.cleanup(), 10)  # open streams must not hold it up


async def chromium(profile: Path, *args: str, timeout_s: float = 60.0) -> str:
    """Run headless Chromium to completion (killed past ``timeout_s``); its stdout."""
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")


def points(dom: str, chart_id: str) -> int:
    match = re.search(rf'<svg[^>]*id="{chart_id}"[^>]*>', dom)
    assert match, f"no chart {chart_id}"
    n = re.search(r'data-points="(\d+)"', match.group(0))
    return int(n.group(1)) if n else 0


async def test_dashboard_draws_live_data(base_url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    # one run dumps the DOM and takes the screenshot of the same moment
    dom = await chromium(tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom",
                         f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars",
                         f"{base_url}/dashboard#key=t1-viewer")
    assert "RecSys Stream" in dom
    # at least the first GET and one streamed snapshot (typically 5 to 25 of them: how
    # many arrive before virtual time runs out varies from run to run)
    assert points(dom, "chart-join") >= 4  # two series
    assert points(dom, "chart-throughput") >= 2  # rates between successive snapshots
    ctr = re.search(r'<svg[^>]*data-experiment="exp-ranker-v2"[^>]*>', dom)
    assert ctr, "no CTR chart"
    assert int(re.findall(r'data-points="(\d+)"', ctr.group(0))[0]) >= 2
    assert 'data-srm="ok"' in dom and 'data-guardrails="fail"' in dom
    assert 'id="status" data-state="live"' in dom  # a stream's clean end is no outage
    assert "home" in dom and "pdp" in dom  # the namespaces table
    assert shot.stat().st_size > 10_000


async def test_dashboard_without_credentials_asks_for_them(base_url: str,
                                                           tmp_path: Path) -> None:
    dom = await chromium(tmp_path / "profile", "--virtual-time-budget=2000", "--dump-dom",
                         f"{base_url}/dashboard#key=wrong-key")
    assert re.search(r'<form id="creds"(?![^>]*hidden)', dom)
    assert 'data-state="error"' in dom
    assert "exp-ranker-v2" not in dom

