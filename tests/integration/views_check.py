"""Compare what a ViewReader holds with the batch twin of the same events."""

from __future__ import annotations

import asyncio
import math

from serving.view_reader import ViewState
from streams.decay import value_at
from streams.twin import TwinState


def differences(view: ViewState, twin: TwinState, top_k: int) -> list[str]:
    """Human-readable differences (empty when the views equal the twin)."""
    out: list[str] = []
    namespaces = {(t, s) for t, s, _ in twin.popularity}
    if set(view.merged) != namespaces:
        out.append(f"popularity namespaces {sorted(view.merged)} != {sorted(namespaces)}")
    h = view.half_life_ms
    for ns in namespaces:
        expected = {i: sc for (t, s, i), sc in twin.popularity.items() if (t, s) == ns}
        t_ref = max(sc.t_ms for sc in expected.values())
        want = sorted(
            ((i, value_at(sc, t_ref, h)) for i, sc in expected.items()),
            key=lambda kv: (-kv[1], kv[0]),
        )[:top_k]
        # the merge of the partitions' top-K holds up to partitions × K items; its first
        # K are the namespace's top K (scaling.md), the twin's cut
        got = [
            (e.item_id, e.value * 2.0 ** (-(t_ref - e.t_ms) / h)) for e in view.merged.get(ns, [])
        ][:top_k]
        if [i for i, _ in got] != [i for i, _ in want]:
            out.append(f"popularity order differs for {ns}")
            continue
        for (i, g), (_, w) in zip(got, want, strict=True):
            if not math.isclose(g, w, rel_tol=1e-9):
                out.append(f"popularity {ns} {i}: {g} != {w}")
    if view.covisitation != twin.neighbours:
        missing = set(twin.neighbours) - set(view.covisitation)
        wrong = [
            k for k in twin.neighbours if view.covisitation.get(k) not in (None, twin.neighbours[k])
        ]
        out.append(f"co-visitation: {len(missing)} anchors missing, {len(wrong)} differ")
        out += [
            f"  {k}: view {view.covisitation.get(k)} twin {twin.neighbours[k]}" for k in wrong[:3]
        ]
    want_history = {k: list(v) for k, v in twin.history.items()}
    if view.history != want_history:
        wrong_users = sum(view.history.get(k) != v for k, v in want_history.items())
        out.append(f"history differs for {wrong_users} users")
        out += [
            f"  {k}: view {view.history.get(k)} twin {v}"
            for k, v in want_history.items()
            if view.history.get(k) != v
        ][:3]
    want_catalog = {k: frozenset(e.tags) for k, e in twin.catalog.items()}
    got_catalog = {k: m.tags for k, m in view.catalog.items()}
    if got_catalog != want_catalog:
        out.append("catalog differs")
    return out


async def wait_equal(view: ViewState, twin: TwinState, top_k: int, timeout_s: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    diff: list[str] = ["not checked"]
    while asyncio.get_running_loop().time() < deadline:
        diff = differences(view, twin, top_k)
        if not diff:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("views never equalled the batch twin: " + "; ".join(diff[:10]))
