"""How cheap could the serving bench's ranking get? The engine against an array probe.

    .venv/bin/python bench/ranking_floor.py [--bodies 200] [--loops 20000] [--rounds 3]
                                            [--echo-us 48] [--handler-us 133]

Times, in this process and in a tight loop, ``serving.engine.pipeline.rank`` on the
request of ``bench/serving.py`` (its views, its 5 rules) and a probe of what an array
core over integer item ids would cost for the same request: popularity, neighbours and
the rules' effects mirrored into NumPy arrays once, then per request a handful of array
operations (pool union, blend, boosts, blocks, top k) and the 20 result dicts.

The probe is not an engine. It handles only this request's shape (explicit anchors, item
pins, tag and brand boosts and blocks, no exclusions beyond the pool) and leaves out
what a real core would also pay: warnings, pin bookkeeping objects, keeping its arrays
in step with the live views. So its time is a lower bound. It is checked before timing:
on every body it must return the engine's items in the engine's order, else the bench
stops with an error.

It prints both loop times, their ratio, and what each would make of a whole request:
``--echo-us`` is the echo server's CPU per request and ``--handler-us`` the recommend
server's with its ranking memoised away (both measured by ``bench/serving.py`` and its
stubbed variant; the defaults are the session-11 figures of docs/benchmarks.md). The
projected share of echo's RPS is ``echo / (handler + ranking)``; the issue's target is
33 %.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file's folder would shadow the project's "serving" package with bench/serving.py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from schemas.pseudonym import pseudonymize
from serving.engine.model import EngineSettings, RankQuery, ViewSet
from serving.engine.pipeline import rank
from serving.engine.rulebook import rulebook
from serving.engine.rules import boost_delta
from serving.engine.weights import Weights
from serving.rules_doc import parse_rules
from serving.view_reader import ViewState

NOW_MS = 1_800_000_000_000


def _bench_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "serving_bench", Path(__file__).resolve().parent / "serving.py")
    if spec is None or spec.loader is None:
        raise SystemExit("bench/serving.py not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules["serving_bench"] = module
    spec.loader.exec_module(module)
    return module


def queries(bench: Any, n_bodies: int) -> list[RankQuery]:
    """The RankQuery the server builds for each of bench/serving.py's bodies (default
    tenant config: weights pop 1, cooc 0; catalog fill on)."""
    rules = parse_rules(bench.RULES, "t1")
    out = []
    for body in bench.bodies(n_bodies):
        out.append(RankQuery(
            tenant="t1", surface="home", k=int(body["k"]), now_ms=NOW_MS,
            weights=Weights(1.0, 0.0, 0.0), user_id=pseudonymize(body["user"]["user_id"],
                                                                 bench.SALT),
            anchors=tuple(body["anchors"]["item_ids"]), rules=rules, catalog_fill=True))
    return out


class ArrayProbe:
    """The views and rules of one namespace as arrays over item numbers (see the module
    docstring for what it leaves out)."""

    def __init__(self, views: ViewState, query: RankQuery, settings: EngineSettings) -> None:
        ids = sorted(item for (tenant, item) in views.catalog if tenant == query.tenant)
        self.ids = ids
        self.number = {item: n for n, item in enumerate(ids)}
        n = len(ids)
        self.pop = np.zeros(n)
        ranked = views.top_pairs(query.tenant, query.surface, n, query.now_ms)
        for item, score in ranked:
            self.pop[self.number[item]] = score
        self.popular = np.fromiter((self.number[i] for i, _ in ranked), np.int64, len(ranked))
        width = max(len(views.neighbour_pairs(query.tenant, query.surface, a, 10**9))
                    for a in ids)
        # neighbour rows padded with the number n, a sentinel marked from the start
        self.mark = np.zeros(n + 1, dtype=bool)
        self.mark[n] = True
        self.owner = np.zeros(n + 1, dtype=np.int64)
        self.arange = np.arange(settings.max_injected_anchors * width)
        self.nbr = np.full((n, width), n, dtype=np.int64)
        self.count = np.zeros((n, width))
        for a in ids:
            for j, (b, c) in enumerate(views.neighbour_pairs(query.tenant, query.surface, a,
                                                             width)):
                self.nbr[self.number[a], j], self.count[self.number[a], j] = self.number[b], c
        book = rulebook(query.rules, settings.brand_prefixes, settings.category_prefixes)
        active = book.active(query.surface, query.segment, query.now_ms)
        self.blocked = np.zeros(n, dtype=bool)
        # the boosts in rule order: a positive score is multiplied by ``factor``, a zero
        # score becomes ``from_zero`` (the first boost adds its value, see boost_delta)
        self.factor, self.from_zero = np.ones(n), np.zeros(n)
        for item in ids:
            meta, at = views.catalog[(query.tenant, item)], self.number[item]
            if active.blocks_item(item, meta.tags):
                self.blocked[at] = True
                continue
            for c in active.rules:
                if c.rule.action == "boost" and not c.tags.isdisjoint(meta.tags):
                    self.factor[at] *= 1.0 + c.rule.boost_value
                    self.from_zero[at] += boost_delta(self.from_zero[at], c.rule.boost_value)
        pins = [t for c in active.rules if c.rule.action == "pin" for t in c.targets]
        self.pins = [t for t in pins if not self.blocked[self.number[t]]][:settings.max_pin_slots]
        self.pinned = np.fromiter((self.number[t] for t in self.pins), np.int64, len(self.pins))
        self.fanout = max(settings.fanout_factor * query.k, settings.popularity_fanout)
        self.scratch = np.zeros(n)

    def rank(self, query: RankQuery) -> list[dict[str, Any]]:
        number, mark = self.number, self.mark
        anchors = np.fromiter((number[a] for a in query.anchors), np.int64, len(query.anchors))
        nbr, count = self.nbr[anchors].ravel(), self.count[anchors].ravel()
        mark[anchors] = True  # anchors are seeds, not candidates (padding is marked too)
        real = ~mark[nbr]
        mark[anchors] = False
        nbr, count = nbr[real], count[real]
        upto = self.arange[:len(nbr)]
        self.owner[nbr] = upto
        near = nbr[self.owner[nbr] == upto]  # each neighbour once
        np.maximum.at(self.scratch, nbr, count)  # its max count over the anchors
        if len(near) > self.fanout:  # the best by (count desc, id asc)
            near = near[np.lexsort((near, -self.scratch[near]))[:self.fanout]]
        self.scratch[nbr] = 0.0
        popular = self.popular[:self.fanout]
        mark[popular] = True
        pool = np.concatenate((popular, near[~mark[near]]))
        mark[popular] = False
        pool = pool[~self.blocked[pool]]
        p = self.pop[pool]
        score = query.weights.pop * p / (p + 1.0)
        score = np.where(score > 0, score * self.factor[pool], self.from_zero[pool])
        ids = self.ids
        out = []
        if len(self.pins):  # a pin of the pool keeps its score, an injected one has 0
            mark[self.pinned] = True
            inside = mark[pool]
            mark[self.pinned] = False
            pinned_scores = dict(zip(pool[inside].tolist(), score[inside].tolist(),
                                     strict=True))
            out = [{"item_id": ids[i], "rank": n, "score": pinned_scores.get(i, 0.0)}
                   for n, i in enumerate(self.pinned.tolist(), start=1)]
            pool, score = pool[~inside], score[~inside]
        top = np.lexsort((pool, -score))[:query.k - len(out)]
        for n, (i, s) in enumerate(zip(pool[top].tolist(), score[top].tolist(),
                                       strict=True), start=len(out) + 1):
            out.append({"item_id": ids[i], "rank": n, "score": s})
        return out


def best_us(fn: Callable[[RankQuery], object], qs: list[RankQuery], loops: int,
            rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for n in range(loops):
            fn(qs[n % len(qs)])
        best = min(best, (time.perf_counter() - started) / loops * 1e6)
    return best


def check(probe: ArrayProbe, qs: list[RankQuery], views: ViewSet,
          settings: EngineSettings) -> None:
    for q in qs:
        want = [(i.item_id, i.score) for i in rank(q, views, settings).items]
        got = [(d["item_id"], d["score"]) for d in probe.rank(q)]
        same = [a for (a, _), (b, _) in zip(want, got, strict=False) if a == b]
        close = all(abs(a - b) <= 1e-9 * max(1.0, abs(a))
                    for (_, a), (_, b) in zip(want, got, strict=False))
        if len(want) != len(got) or len(same) != len(want) or not close:
            raise SystemExit(f"the probe disagrees with the engine on {q.anchors}:\n"
                             f"  engine {want[:5]}\n  probe  {got[:5]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bodies", type=int, default=200,
                        help="distinct requests cycled through (bench/serving.py's bodies)")
    parser.add_argument("--loops", type=int, default=20_000, help="rankings per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept")
    parser.add_argument("--echo-us", type=float, default=48.0,
                        help="echo server CPU µs per request (bench/serving.py)")
    parser.add_argument("--handler-us", type=float, default=133.0,
                        help="recommend server CPU µs per request with ranking memoised")
    args = parser.parse_args(argv)
    if args.bodies < 1 or args.loops < 1 or args.rounds < 1:
        parser.error("--bodies, --loops and --rounds must be at least 1")
    bench = _bench_module()
    print("building the views and the arrays ...", flush=True)
    state, settings = bench.bench_views(), EngineSettings()
    views = ViewSet(state, state, state, state)
    qs = queries(bench, args.bodies)
    probe = ArrayProbe(state, qs[0], settings)
    check(probe, qs, views, settings)
    print(f"the probe returns the engine's items on all {len(qs)} bodies")
    engine = best_us(lambda q: rank(q, views, settings), qs, args.loops, args.rounds)
    array = best_us(probe.rank, qs, args.loops, args.rounds)
    budget = args.echo_us / 0.33 - args.handler_us
    print(f"engine rank:  {engine:6.1f} µs per ranking (best of {args.rounds} × {args.loops})")
    print(f"array probe:  {array:6.1f} µs per ranking ({array / engine:.0%} of the engine)")
    print(f"ranking budget at 33 % of echo: {budget:.1f} µs "
          f"(echo {args.echo_us:g} µs, handler without ranking {args.handler_us:g} µs)")
    for name, cost in (("engine", engine), ("array probe", array), ("free ranking", 0.0)):
        share = args.echo_us / (args.handler_us + cost)
        print(f"projected recommend / echo with {name:12} {share:5.1%}")


if __name__ == "__main__":
    main()
