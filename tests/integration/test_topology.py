"""The many-machine topology of docs/deploy/, with processes instead of containers.

Two `recsys worker` processes share the 8 partitions of one consumer group; two
`recsys serve` replicas read the views they publish. After a replay, both replicas give
identical answers, and the popularity order is the batch twin's.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from app.broker import EmbeddedBroker, free_port
from app.replay import merge_by_time, replay
from app.runtime import state_config
from app.settings import Settings
from app.synthetic import generate
from schemas.registry import LocalRegistry
from serving.view_reader import ViewReader
from streams.decay import value_at
from streams.twin import state_twin
from tests.integration.procs import WorkerProcess, worker_env
from tests.integration.views_check import wait_equal

CONFIG = state_config(Settings(grace_s=86_400.0, grace_wall_s=5.0))
POP_ONLY = {"pop": 1.0, "cooc": 0.0, "emb": 0.0}
BLEND = {"pop": 0.3, "cooc": 1.0, "emb": 0.0}


class ServeProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def _ready(http: aiohttp.ClientSession, base: str, timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with http.get(f"{base}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"{base} never became ready")


async def _recommend(http: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> list[Any]:
    async with http.post(f"{base}/v1/recommend", json=body, headers={"X-Org-Id": "t1"}) as resp:
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
    return [(i["item_id"], i["rank"], i["score"]) for i in doc["items"]]


def _same(a: list[Any], b: list[Any]) -> bool:
    """Same items and ranks; scores decay to the moment of each request (ms apart)."""
    return [x[:2] for x in a] == [x[:2] for x in b] and all(
        math.isclose(x[2], y[2], rel_tol=1e-6) for x, y in zip(a, b, strict=True)
    )


async def test_two_workers_and_two_replicas_answer_identically(
    fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    log = generate(requests=500, users=30, catalog=50, seed=41)
    events = merge_by_time([log.items, log.exposures, log.outcomes])
    twin = state_twin(events, CONFIG)
    env = worker_env(fresh_broker.bootstrap, f"topo-{uuid.uuid4().hex[:6]}", tmp_path, 8)
    workers = [WorkerProcess(env, tmp_path / f"w{n}.log") for n in (1, 2)]
    replicas: list[ServeProcess] = []
    reader = ViewReader(fresh_broker.bootstrap)
    try:
        await reader.start()
        await asyncio.sleep(4.0)  # let both workers join the group before data flows
        await replay(events, fresh_broker.bootstrap, registry=LocalRegistry(), rate=2000)
        await wait_equal(reader, twin, CONFIG.popularity.top_k)
        replicas = [ServeProcess(env, tmp_path / f"serve{n}.log") for n in (1, 2)]

        # The expected popularity order on t1/home, from the twin (score desc, id asc).
        home = {i: sc for (t, s, i), sc in twin.popularity.items() if (t, s) == ("t1", "home")}
        t_ref = max(sc.t_ms for sc in home.values())
        half_life = reader.half_life_ms
        want = sorted(home, key=lambda i: (-value_at(home[i], t_ref, half_life), i))[:10]

        anchor = next(iter(sorted(twin.neighbours)))[-1]  # some item with neighbours
        users = sorted({e.user_id for e in log.exposures})[:5]
        bodies = [{"surface": "home", "k": 10, "weights": POP_ONLY, "user": {"user_id": "x"}}]
        bodies += [
            {"surface": s, "k": 10, "weights": BLEND, "user": {"user_id": u},
             "anchors": {"item_ids": [anchor]}}
            for u in users
            for s in ("home", "pdp")
        ]
        async with aiohttp.ClientSession() as http:
            for replica in replicas:
                await _ready(http, replica.base)
            first, second = replicas
            answers = []
            for body in bodies:
                a = await _recommend(http, first.base, body)
                b = await _recommend(http, second.base, body)
                assert _same(a, b), (body, a, b)
                answers.append(a)
        assert [item for item, _, _ in answers[0]] == want
        # the blended answers differ from popularity order: co-visitation took part
        assert any([x[0] for x in a] != want for a in answers[1:])
        assert all(w.proc.poll() is None for w in workers), "a worker died"
        assert all(r.proc.poll() is None for r in replicas), "a replica died"
    finally:
        await reader.stop()
        for r in replicas:
            r.stop()
        for w in workers:
            w.stop()
