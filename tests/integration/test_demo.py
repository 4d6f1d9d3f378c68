"""A shortened ``recsys up --demo``: simulated users, the stream learning, the live
experiment view — and the offline evaluator on the dumped topics agreeing with it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
from pathlib import Path

from app.broker import free_port
from app.demo import DemoOptions, demo_settings, run_demo
from app.demo_report import demo_report
from app.runtime import start_stack, stop_stack
from app.settings import Settings
from app.simulator import SimulatorConfig
from app.simulator.arms import EXPERIMENT_ID
from app.simulator.traffic import NO_ARM
from tests.integration.test_dashboard import ARTIFACTS, chromium, points

TENANT = "demo"


async def settled(read, timeout_s: float = 60.0) -> object:  # type: ignore[no-untyped-def]
    """``read()`` once it returned the same value twice, 2 s apart."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last = read()
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(2.0)
        now = read()
        if now == last and now is not None:
            return now
        last = now
    raise AssertionError("live view never settled")


def rows(doc: dict) -> dict[str, dict]:
    keys = ("exposures", "clicks", "conversions", "revenue", "ctr", "conversion_rate")
    return {r["variant"]: {k: r[k] for k in keys} for r in doc["variants"]}


async def test_demo_traffic_is_learned_and_live_equals_offline(tmp_path: Path) -> None:
    settings = demo_settings(
        Settings(
            kafka_port=free_port(),
            http_port=free_port(),
            partitions=4,
            data_dir=tmp_path / "var",
            app_id="demo-test",
        )
    )
    running = await start_stack(settings)
    lines: list[str] = []
    try:
        # A small world learns within seconds: app.simulator.offline gives B +100 % to
        # +160 % clicks per request over A at 500 requests of it (seeds 3, 4, 5).
        world = SimulatorConfig(n_items=200, n_users=100, n_categories=8)
        # Warm-up: users only browse (outside the experiment) until the stream has
        # published what it learned. Without it, on a loaded machine the views lagged
        # behind the traffic and B ranked like A for most of a short run (seen in CI).
        warm = await run_demo(
            running,
            DemoOptions(rate=20.0, seed=4, duration_s=10.0, summary_every_s=60.0,
                        config=dataclasses.replace(world, browse_share=1.0)),
            emit=lines.append,
        )
        assert warm.failed == 0 and set(warm.arms) == {NO_ARM}, warm.line()
        live, views = running.serving.live, running.serving.views  # type: ignore[union-attr]
        deadline = asyncio.get_running_loop().time() + 60.0
        while live.overview(TENANT)["totals"]["exposures"] < warm.answered:
            assert asyncio.get_running_loop().time() < deadline, "warm-up never counted"
            await asyncio.sleep(0.5)
        assert await settled(lambda: len(views.covisitation)), "nothing learned"
        options = DemoOptions(rate=20.0, seed=4, duration_s=25.0, summary_every_s=5.0,
                              config=world)
        shot = ARTIFACTS / "demo-dashboard.png"

        async def screenshot() -> str:  # the dashboard while the simulated users click
            await asyncio.sleep(15.0)
            ARTIFACTS.mkdir(exist_ok=True)
            shot.unlink(missing_ok=True)
            return await chromium(
                tmp_path / "profile", "--virtual-time-budget=6000", "--dump-dom",
                f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars",
                f"{running.base_url}/dashboard#tenant={TENANT}",
            )

        shooting = asyncio.create_task(screenshot())
        summary = await run_demo(running, options, emit=lines.append)
        dom = await shooting
        assert "RecSys Stream" in dom and 'id="status" data-state="live"' in dom
        assert points(dom, "chart-join") >= 2
        arms = re.search(rf'<svg[^>]*data-experiment="{EXPERIMENT_ID}"[^>]*>', dom)
        assert arms, "no CTR chart for the demo experiment"
        assert int(re.findall(r'data-points="(\d+)"', arms.group(0))[0]) >= 2  # A and B
        assert shot.stat().st_size > 10_000
        assert summary.failed == 0 and summary.variant_mismatches == 0
        assert set(summary.arms) >= {"A", "B"}, summary.line()
        live = running.serving.live  # type: ignore[union-attr]
        doc = await settled(lambda: live.experiment(EXPERIMENT_ID, TENANT))
        overview = live.overview(TENANT)
        assert overview["totals"]["exposures"] >= summary.answered
        assert overview["totals"]["outcome_join_rate"] > 0.95
        assert any(line.startswith("live ") and " B ctr " in line for line in lines), lines
        assert f"{running.base_url}/dashboard#tenant={options.config.tenant}" in lines[0], lines

        # The stream learned from the traffic: co-visitation neighbours exist.
        views = running.serving.views  # type: ignore[union-attr]
        assert any(key[0] == TENANT for key in views.covisitation), "no co-visitation learned"

        out = tmp_path / "report"
        code = await demo_report(settings, settings.bootstrap, str(out), EXPERIMENT_ID)
        assert code in (0, 2, 3)  # ship / hold / fail are results, not errors
        offline = json.loads((out / "experiment.json").read_text())["experiment"]
        live_rows, offline_rows = rows(doc), rows(offline)
        assert live_rows.keys() == offline_rows.keys()
        for variant, row in offline_rows.items():  # counts exact; sums/rates to 1e-12
            for key, value in row.items():
                got = live_rows[variant][key]
                assert math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-12), (variant, key)
                if isinstance(value, int) and key in ("exposures", "clicks", "conversions"):
                    assert got == value
        live_p = {(t["metric"], t["variant"]): t["p_value"] for t in doc["significance"]}
        off_p = {(t["metric"], t["variant"]): t["p_value"] for t in offline["significance"]}
        assert live_p.keys() == off_p.keys() and live_p
        for key, p in off_p.items():
            assert math.isclose(live_p[key], p, rel_tol=1e-12, abs_tol=1e-15), key
        # The direction of the full demo, in short: B (co-visitation) wins clicks and
        # ranks engaged items higher (NDCG@10 per arm from the offline report).
        ctr = {r["variant"]: r["ctr"] for r in doc["variants"]}
        assert ctr["B"] > ctr["A"], ctr
        assert not (doc.get("srm") or {}).get("alarm"), doc.get("srm")
        report = json.loads((out / "offline.json").read_text())["offline"]["by_segment"]
        ndcg = {
            key.removeprefix("experiment_variant="): row["value"]
            for key, rows in report.items()
            for row in rows
            if row["name"] == "ndcg@10"
        }
        assert ndcg["B"] > ndcg["A"], ndcg
        assert (out / "offline.html").stat().st_size > 1000
        assert (out / "experiment.html").read_text().startswith("<!")
        # an experiment id that names nothing is an error, not "SRM not detected (p=1)"
        code = await demo_report(settings, settings.bootstrap, str(tmp_path / "nope"), "nope")
        assert code == 1
    finally:
        await stop_stack(running)
