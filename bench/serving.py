"""/v1/recommend against a bare aiohttp JSON echo handler, same load, same core.

    .venv/bin/python bench/serving.py [--requests 6000] [--concurrency 32] [--rounds 3]
                                      [--rate 600] [--bodies 1]

Each server runs in its own process pinned to CPU 0 (one core), on uvloop when it is
installed (``serving.loop.install``) and with its start-up heap frozen
(``serving.loop.freeze_heap``), the same for both. The load generator runs in this
process on CPU 1: ``concurrency`` keep-alive connections, each sending the next request
as soon as the previous response is complete (a closed loop), a bounded number of
requests in all, to 127.0.0.1. It writes pre-encoded requests and reads responses by
Content-Length on a bare asyncio protocol, so it drives ~10k requests/s and the servers,
not the client, are the bottleneck (the "server busy" column shows it: ~100% means the
RPS is the server's capacity). The recommend server holds a 10,000-item catalog and
200,000 co-visitation pairs in memory views, 5 tenant rules, and each request carries
anchors and a user with live history, k=20 (with ``--bodies N`` the load cycles through
N distinct bodies, the rest with random anchors and users, so nothing a request repeats
is warm by construction). Its exposures go through the replica's own
sink (``KafkaEventSink``: queue, validation, Avro encoding) into a producer stub that
counts them, so only aiokafka's send and the network are left out. A third server is
the issue's other reference point, a plain handler that scores and sorts 200
candidates (``score_sort_app``). Prints RPS, p50/p95/p99, server CPU per request for
each, and the ratios. With ``--rate`` it also
offers each server a fixed open-loop rate, where latency is service time plus any pause
(GC, view updates), not the queueing a saturated closed loop adds (there p50 ≈
concurrency × CPU per request).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and "serving" would be
# this file; the project's package must win.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import random
import subprocess
import time
from collections import deque
from dataclasses import dataclass

import orjson
from aiohttp import web

from app.broker import free_port
from serving.view_reader import ViewState

BODY = {
    "surface": "home",
    "k": 20,
    "user": {"user_id": "u7"},
    "anchors": {"item_ids": ["i00042", "i00077"]},
}


class CountingProducer:
    """Stands in for aiokafka's producer: takes each encoded record and acknowledges it."""

    def __init__(self, **_: object) -> None:
        self.records = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def send(self, topic: str, value: bytes | None = None,
                   key: bytes | None = None) -> asyncio.Future[None]:
        self.records += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


RULES = {
    "rules": [
        {"rule_id": "pin-1", "action": "pin", "item_ids": ["i09999"]},
        {"rule_id": "block-1", "action": "block", "item_ids": ["i00001", "i00002"]},
        {"rule_id": "boost-1", "action": "boost", "tag": "music", "boost_value": 0.5},
        {"rule_id": "boost-2", "action": "boost", "brand": "b3", "boost_value": 0.2},
        {"rule_id": "block-2", "action": "block", "tag": "food", "priority": 1},
    ]
}
SALT = "bench-salt"


def bench_views() -> ViewState:
    """The same in-memory structures a serving replica's ViewReader holds: a 10,000-item
    catalog, the top 1,000 popular items, 200,000 co-visitation pairs, u7's history."""
    from schemas.pseudonym import pseudonymize
    from schemas.views import DecayedEntry, encode_popularity
    from serving.views import ItemMeta

    rng = random.Random(1)
    views = ViewState()
    items = [f"i{n:05d}" for n in range(10_000)]
    tags = ["sports", "news", "music", "film", "games", "food"]
    for n, item in enumerate(items):
        views.catalog[("t1", item)] = ItemMeta(item, frozenset({tags[n % 6], f"brand:b{n % 40}"}))
    entries = [DecayedEntry(i, rng.random() * 100, 1_800_000_000_000) for i in items[:1000]]
    views.put_popularity("t1", "home", 0, encode_popularity(7 * 86_400_000, entries))
    pairs = 0
    for anchor in items:
        nbrs = rng.sample(items, 20)
        views.covisitation[("t1", "home", anchor)] = sorted(
            ((b, rng.randint(1, 50)) for b in nbrs), key=lambda kv: (-kv[1], kv[0])
        )
        pairs += len(nbrs)
    if pairs != 200_000:
        raise RuntimeError(pairs)
    views.history[("t1", pseudonymize("u7", SALT))] = [
        (items[n], 1_800_000_000_000 - n) for n in range(0, 50, 5)
    ]
    return views


def recommend_app() -> web.Application:
    from schemas.producer import EventProducer
    from schemas.registry import LocalRegistry
    from serving.app import create_app
    from serving.config_store import InMemoryConfigStore
    from serving.deps import ServingDeps, ServingSettings
    from serving.sink_kafka import KafkaEventSink

    views = bench_views()
    store = InMemoryConfigStore()
    deps = ServingDeps(
        popularity=views,
        catalog=views,
        covisitation=views,
        history=views,
        # the replica's exposure path (queue → validate → Avro encode → producer.send)
        # with a producer that only counts: everything but aiokafka's send and the network
        sink=KafkaEventSink(EventProducer("127.0.0.1:9", registry=LocalRegistry(),
                                          client_id="recsys-serving",
                                          producer_factory=CountingProducer)),
        config_store=store,
        settings=ServingSettings(
            exposure_salt=SALT,
            rate_refill_per_s=0,
            open_roles=frozenset({"viewer", "operator", "admin"}),
        ),
    )
    app = create_app(deps)

    async def seed(_: web.Application) -> None:
        from serving.config_store import Actor

        await store.put("t1", "rules", RULES, if_match=None, actor=Actor("bench"), now_ms=0)

    app.on_startup.append(seed)
    return app


def echo_app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    app = web.Application()
    app.router.add_post("/v1/recommend", echo)
    return app


def score_sort_app() -> web.Application:
    """The issue's second reference point: a plain handler that scores 200 candidates and
    sorts them, and nothing else (no auth, rules, catalog, experiments or logging).
    Candidates: the 180 most popular of a 10,000-item catalog plus the neighbours of the
    request's anchors (20 each); score = pop/(pop+1) + 0.5·cooc/(cooc+1); top k by score
    then id."""
    rng = random.Random(1)
    items = [f"i{n:05d}" for n in range(10_000)]
    pop = {item: rng.random() * 100 for item in items}
    popular = sorted(items, key=lambda i: (-pop[i], i))[:180]
    neighbours = {a: [(b, float(rng.randint(1, 50))) for b in rng.sample(items, 20)]
                  for a in items}

    async def score_sort(request: web.Request) -> web.Response:
        body = await request.json()
        k = int(body.get("k", 20))
        cooc: dict[str, float] = {}
        for anchor in body.get("anchors", {}).get("item_ids", []):
            for item, count in neighbours.get(anchor, ()):
                cooc[item] = max(cooc.get(item, 0.0), count)
        scored = []
        for item in dict.fromkeys([*popular, *cooc]):
            p, c = pop[item], cooc.get(item, 0.0)
            scored.append((p / (p + 1.0) + 0.5 * c / (c + 1.0), item))
        scored.sort(key=lambda si: (-si[0], si[1]))
        return web.json_response(
            {"items": [{"item_id": i, "score": sc, "rank": n}
                       for n, (sc, i) in enumerate(scored[:k], start=1)]})

    app = web.Application()
    app.router.add_post("/v1/recommend", score_sort)
    return app


def serve(kind: str, port: int) -> None:
    from serving.loop import freeze_when_ready, install

    os.sched_setaffinity(0, {0})
    install()
    apps = {"recommend": recommend_app, "echo": echo_app, "score-sort": score_sort_app}
    app = apps[kind]()
    freeze_when_ready(app)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


Result = tuple[float, list[float], int]


class Client(asyncio.Protocol):
    """One keep-alive connection. Closed loop: the next request goes out when a response
    is complete. Open loop: requests go out when scheduled (pipelined if one is still
    in flight) and latency counts from the scheduled time."""

    def __init__(self, requests: list[bytes], remaining: list[int], done: asyncio.Future[None],
                 latencies: list[float], statuses: list[int], closed_loop: bool = True,
                 first: int = 0) -> None:
        self.requests = requests  # sent in turn, from the ``first``
        self.sent = first
        self.remaining = remaining  # shared countdown of requests still to send
        self.done = done
        self.latencies = latencies
        self.statuses = statuses
        self.closed_loop = closed_loop
        self.buffer = bytearray()
        self.pending: deque[float] = deque()  # when each request in flight was due
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        if self.remaining[0] <= 0 or self.transport is None:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.remaining[0] -= 1
        self.submit(time.perf_counter())

    def submit(self, due: float) -> None:
        if self.transport is not None:
            self.pending.append(due)
            self.transport.write(self.requests[self.sent % len(self.requests)])
            self.sent += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower() + b"\r\n"
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
            length = int(head[at + 17:head.find(b"\r\n", at + 2)])
            if len(self.buffer) < end + 4 + length:
                return
            self.latencies.append(time.perf_counter() - self.pending.popleft())
            self.statuses.append(int(head[9:12]))
            del self.buffer[:end + 4 + length]
            if self.closed_loop:
                self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.done.done():
            self.done.set_exception(exc or RuntimeError("server closed the connection"))


def bodies(n: int) -> list[dict[str, object]]:
    """The request bodies: the issue's one request, or with ``n`` > 1 that one and n − 1
    others with two random anchors of the catalog and one of 1,000 users each (seeded)."""
    rng = random.Random(7)
    out: list[dict[str, object]] = [BODY]
    for _ in range(n - 1):
        out.append({**BODY, "user": {"user_id": f"u{rng.randrange(1000)}"},
                    "anchors": {"item_ids": [f"i{rng.randrange(10_000):05d}" for _ in "ab"]}})
    return out


def request_bytes(port: int, n_bodies: int) -> list[bytes]:
    out = []
    for doc in bodies(n_bodies):
        body = orjson.dumps(doc)
        out.append((
            f"POST /v1/recommend HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Org-Id: t1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body)
    return out


async def connect(port: int, concurrency: int, requests: int, closed_loop: bool,
                  n_bodies: int = 1) -> tuple[list[Client], list[asyncio.Future[None]],
                                              list[float], list[int]]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: list[int] = []
    remaining = [requests]
    conns, dones = [], []
    sent = request_bytes(port, n_bodies)
    for n in range(concurrency):  # each connection starts at its own body
        done: asyncio.Future[None] = loop.create_future()
        conn = Client(sent, remaining, done, latencies, statuses, closed_loop,
                      first=n * len(sent) // concurrency)
        await loop.create_connection(lambda c=conn: c, "127.0.0.1", port)  # type: ignore[misc]
        conns.append(conn)
        dones.append(done)
    await asyncio.sleep(0.1)  # every connection accepted before the first request
    return conns, dones, latencies, statuses


def close(conns: list[Client]) -> None:
    for conn in conns:
        if not conn.done.done():  # closing on purpose is not a lost connection
            conn.done.set_result(None)
        if conn.transport is not None:
            conn.transport.close()


async def load(port: int, requests: int, concurrency: int, timeout_s: float,
               n_bodies: int = 1) -> Result:
    """Closed loop: ``concurrency`` requests always in flight until ``requests`` are done."""
    conns, dones, latencies, statuses = await connect(port, concurrency, requests, True,
                                                      n_bodies)
    start = time.perf_counter()
    for conn in conns:
        conn.send()
    try:
        await asyncio.wait_for(asyncio.gather(*dones), timeout_s)
    finally:
        close(conns)
    elapsed = time.perf_counter() - start
    errors = sum(1 for status in statuses if status != 200)
    return len(latencies) / elapsed, latencies, errors


async def paced(port: int, requests: int, concurrency: int, rate: float,
                timeout_s: float, n_bodies: int = 1) -> Result:
    """Open loop: ``rate`` requests/s, round-robin over the connections, whatever the
    server's pace; a latency counts from when the request was due."""
    conns, _, latencies, statuses = await connect(port, concurrency, requests, False,
                                                  n_bodies)
    start = time.perf_counter()
    try:
        for n in range(requests):
            due = start + n / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            conns[n % concurrency].submit(due)
        deadline = start + timeout_s
        while len(latencies) < requests and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        close(conns)
    errors = sum(1 for status in statuses if status != 200) + requests - len(latencies)
    return len(latencies) / (time.perf_counter() - start), latencies, errors


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


@dataclass
class Round:
    rps: float
    latencies: list[float]
    errors: int
    cpu_us: float  # server CPU per request
    busy: float  # server CPU seconds per wall second: ~1.0 when the server is the bottleneck

    def row(self, kind: str) -> str:
        lat = self.latencies
        return (f"{kind:<12}{self.rps:>9,.0f}{pct(lat, 0.5):>9.2f}{pct(lat, 0.95):>9.2f}"
                f"{pct(lat, 0.99):>9.2f}{max(lat) * 1000:>9.2f}{self.errors:>8}"
                f"{self.cpu_us:>12,.0f}{self.busy:>8.0%}")


async def measure(port: int, pid: int, args: argparse.Namespace) -> Round:
    cpu0 = cpu_seconds(pid)
    rps, latencies, errors = await load(port, args.requests, args.concurrency, args.timeout,
                                        args.bodies)
    cpu = cpu_seconds(pid) - cpu0
    n = max(len(latencies), 1)
    return Round(rps, latencies, errors, cpu / n * 1e6, cpu / (n / rps))


async def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {1})
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        for kind in KINDS:
            port = free_port()
            cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
            proc = subprocess.Popen(cmd)  # noqa: S603 - this very script, fixed arguments
            servers[kind] = (port, proc)
            await wait_port(port, proc)
            await load(port, min(1000, args.requests), args.concurrency, 30,
                       args.bodies)  # warm-up
        rounds: dict[str, list[Round]] = {kind: [] for kind in KINDS}
        for _ in range(args.rounds):  # alternating, so both see the same machine
            for kind, (port, proc) in servers.items():
                await asyncio.sleep(0.2)
                rounds[kind].append(await measure(port, proc.pid, args))
        paced_runs: dict[str, list[Round]] = {kind: [] for kind in KINDS}
        for _ in range(args.rounds if args.rate else 0):
            for kind, (port, proc) in servers.items():
                await asyncio.sleep(0.2)
                cpu0 = cpu_seconds(proc.pid)
                rps, lat, errors = await paced(port, args.requests, args.concurrency,
                                               args.rate, args.timeout, args.bodies)
                cpu = cpu_seconds(proc.pid) - cpu0
                n = max(len(lat), 1)
                paced_runs[kind].append(
                    Round(rps, lat, errors, cpu / n * 1e6, cpu / (n / rps)))
    finally:
        for _, proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(f"{args.requests} requests per round at concurrency {args.concurrency}, "
          f"{args.rounds} alternating rounds, each server on one core, loop {loop_name}, "
          f"{args.bodies} distinct request bod{'y' if args.bodies == 1 else 'ies'}")
    header = (f"{'handler':<12}{'RPS':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"{'errors':>8}{'CPU µs/req':>12}{'busy':>8}")
    best = {kind: max(rs, key=lambda r: r.rps) for kind, rs in rounds.items()}
    print("every round:")
    print(header)
    for kind, rs in rounds.items():
        for r in rs:
            print(r.row(kind))
    print("best round of each (least disturbed by other load on the machine):")
    print(header)
    for kind, r in best.items():
        print(r.row(kind))
    if args.rate:
        print(f"open loop at {args.rate:,.0f} requests/s offered, every round (latency from "
              f"when each request was due):")
        print(header)
        for kind, rs in paced_runs.items():
            for r in rs:
                print(r.row(kind))
    rec, echo, plain = best["recommend"], best["echo"], best["score-sort"]
    print(
        f"recommend/echo RPS: {rec.rps / echo.rps:.1%} (target ≥ 33%); CPU per request "
        f"echo/recommend: {echo.cpu_us / rec.cpu_us:.1%}; recommend p99 "
        f"{pct(rec.latencies, 0.99):.2f} ms (target ≤ 15 ms)"
    )
    print(
        f"score-sort/echo RPS: {plain.rps / echo.rps:.1%} (the issue's plain 200-candidate "
        f"handler: ~5,000 of ~16,000 there, 31%); recommend/score-sort RPS: "
        f"{rec.rps / plain.rps:.1%}"
    )


KINDS = ("echo", "score-sort", "recommend")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per server")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="also one open-loop run per server at this many requests/s")
    parser.add_argument("--bodies", type=int, default=1,
                        help="distinct request bodies sent in turn: 1 is the issue's request; "
                             "more add random anchors and users (every server gets the same)")
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.bodies < 1:
        parser.error("--bodies must be at least 1")
    if ns.serve:
        serve(ns.serve, ns.port)
    else:
        from serving.loop import install

        install()  # the client on the same loop as the servers
        asyncio.run(main(ns))
