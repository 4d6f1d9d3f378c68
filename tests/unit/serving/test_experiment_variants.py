"""Tenant-config experiments through the app: per-variant ranking, precedence, logging.

The namespace is ``small_views`` (pop a=4 → 0.8, b=3 → 0.75, c=1 → 0.5, d=0.25 → 0.2)
plus co-visitation of the anchor ``z``: d=9 → 0.9, c=1 → 0.5. With k=3:

- arm A, weights {pop 1}:            a 0.8, b 0.75, c 0.5                → a, b, c
- arm B, weights {pop 0.3, cooc 1}:  d 0.06+0.9=0.96, c 0.15+0.5=0.65,
                                     a 0.24, b 0.225                     → d, c, a
- arm B + request weights {pop 1}:   request replaces pop only (cooc 1 stays):
                                     d 0.2+0.9=1.1, c 0.5+0.5=1.0, a 0.8 → d, c, a (other scores)
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from schemas.errors import ConfigError
from schemas.events import Assignment, Exposure
from serving.deps import ServingSettings
from serving.experiments import AssignmentLog, Experiment, assign
from serving.sink import InMemorySink
from serving.tenant_config import content_etag
from tests.unit.serving.app_fixtures import SALT, Harness, harness
from tests.unit.serving.engine_fixtures import NOW, T, small_views

ADMIN = "/v1/admin/tenants/t1"
EXP = "demo"
ARMS = {"A": {"share": 0.5, "weights": {"pop": 1.0}},
        "B": {"share": 0.5, "weights": {"pop": 0.3, "cooc": 1.0}}}
CONFIG: dict[str, Any] = {"weights": {"pop": 1.0},
                          "experiments": {EXP: {"status": "running", "variants": ARMS}}}


def u64(message: str) -> int:
    return int.from_bytes(hmac.new(SALT.encode(), message.encode(), hashlib.sha256).digest()[:8],
                          "big")


def users_in(variant: str, n: int = 2, experiment: str = EXP) -> list[str]:
    """Users the spec's formula puts in ``variant`` of an even A/B split."""
    found = [u for u in (f"u{i}" for i in range(100))
             if ("A", "B")[u64(f"{experiment}:{u}") % 2] == variant]
    return found[:n]


def body(user: str, **extra: Any) -> dict[str, Any]:
    return {"surface": "home", "k": 3, "user": {"user_id": user}, "segment": "s",
            "anchors": {"item_ids": ["z"]}, "experiment": {"id": EXP},
            "options": {"include_reasons": True}, **extra}


def views() -> Any:
    v = small_views()
    v.covisitation[(T, "home", "z")] = {"d": 9.0, "c": 1.0}
    return v


async def put_config(hs: Harness, doc: dict[str, Any]) -> str:
    resp = await hs.client.put(f"{ADMIN}/config", json=doc, headers={"X-API-Key": "t1-admin"})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["config_version"])


def ranked(doc: dict[str, Any]) -> list[tuple[str, float]]:
    return [(i["item_id"], i["score"]) for i in doc["items"]]


async def test_each_arm_ranks_with_its_variant_weights():
    [user_a], [user_b] = users_in("A", 1), users_in("B", 1)
    async with harness(views()) as hs:
        version = await put_config(hs, CONFIG)
        doc_a = await (await hs.post("/v1/recommend", body(user_a))).json()
        doc_b = await (await hs.post("/v1/recommend", body(user_b))).json()
        assert ranked(doc_a) == [("a", 0.8), ("b", 0.75), ("c", 0.5)]
        assert ranked(doc_b) == [("d", pytest.approx(0.96)), ("c", pytest.approx(0.65)),
                                 ("a", pytest.approx(0.24))]
        assert [i["reasons"] for i in doc_b["items"]] == [
            ["recent_popularity", "co_visitation"], ["recent_popularity", "co_visitation"],
            ["recent_popularity"]]
        for doc, variant in ((doc_a, "A"), (doc_b, "B")):
            assert doc["meta"]["experiment"] == {"id": EXP, "variant": variant}
            assert doc["meta"]["config_version"] == version == content_etag(CONFIG)
        exposures = [e for e in hs.sink.events if isinstance(e, Exposure)]
        assert [(e.context or {}).get("experiment_variant") for e in exposures] == ["A", "B"]
        assert {(e.context or {}).get("config_version") for e in exposures} == {version}


async def test_request_weights_win_field_by_field_over_the_variant():
    [user_b] = users_in("B", 1)
    async with harness(views()) as hs:
        await put_config(hs, CONFIG)
        doc = await (await hs.post("/v1/recommend", body(user_b, weights={"pop": 1}))).json()
        assert ranked(doc) == [("d", pytest.approx(1.1)), ("c", 1.0), ("a", 0.8)]


async def test_variant_algo_sets_the_mode_and_the_algo_version():
    # B's algo=popularity: no request weights → {pop 1} (spec §5.1), whatever B's weights
    arms = {"A": {"share": 0.5}, "B": {"share": 0.5, "algo": "popularity",
                                       "weights": {"cooc": 5.0}}}
    config = {"algo": "blend", "experiments": {EXP: {"status": "running", "variants": arms}}}
    [user_a], [user_b] = users_in("A", 1), users_in("B", 1)
    async with harness(views()) as hs:
        await put_config(hs, config)
        doc_a = await (await hs.post("/v1/recommend", body(user_a))).json()
        doc_b = await (await hs.post("/v1/recommend", body(user_b))).json()
        assert doc_a["meta"]["algo_version"] == "recsys-algo@local:blend"
        assert doc_b["meta"]["algo_version"] == "recsys-algo@local:popularity"
        assert ranked(doc_b) == [("a", 0.8), ("b", 0.75), ("c", 0.5)]
        exposure_b = [e for e in hs.sink.events if isinstance(e, Exposure)][1]
        assert (exposure_b.context or {})["algo_version"] == "recsys-algo@local:popularity"


async def test_client_variant_previews_the_arm_without_an_assignment_record():
    [user_a] = users_in("A", 1)
    async with harness(views()) as hs:
        await put_config(hs, CONFIG)
        forced = body(user_a, experiment={"id": EXP, "variant": "B"})
        doc = await (await hs.post("/v1/recommend", forced)).json()
        assert [i for i, _ in ranked(doc)] == ["d", "c", "a"]
        assert [e.SCHEMA for e in hs.sink.events] == ["exposure.v1"]
        unknown = body(user_a, experiment={"id": EXP, "variant": "C"})
        doc = await (await hs.post("/v1/recommend", unknown)).json()
        assert [i for i, _ in ranked(doc)] == ["a", "b", "c"]  # tenant weights
        # both exposures say they are previews (live A/B metrics leave them out) ...
        contexts = [e.context or {} for e in hs.sink.events]
        assert [(c["experiment_variant"], c.get("experiment_preview")) for c in contexts] == [
            ("B", "true"), ("C", "true")]
        # ... and a server-assigned one does not
        await hs.post("/v1/recommend", body(user_a))
        assigned = [e.context or {} for e in hs.sink.events if e.SCHEMA == "exposure.v1"][-1]
        assert assigned["experiment_variant"] == "A" and "experiment_preview" not in assigned


@pytest.mark.parametrize("experiment", [
    {"status": "paused", "variants": ARMS},
    {"status": "running", "surfaces": ["pdp"], "variants": ARMS},
    {"status": "running", "traffic": 0.0, "variants": ARMS},
    {"status": "running", "ends_at": "2023-11-14T22:13:20Z", "variants": ARMS},  # = NOW
])
async def test_inactive_experiments_assign_nothing_and_rank_with_tenant_weights(
        experiment: dict[str, Any]) -> None:
    [user_b] = users_in("B", 1)
    async with harness(views()) as hs:
        await put_config(hs, {"weights": {"pop": 1.0}, "experiments": {EXP: experiment}})
        doc = await (await hs.post("/v1/recommend", body(user_b))).json()
        assert "experiment" not in doc["meta"]
        assert [i for i, _ in ranked(doc)] == ["a", "b", "c"]
        [exposure] = hs.sink.events
        assert "experiment_variant" not in (exposure.context or {})


async def test_config_definition_wins_over_the_startup_one_which_stays_a_fallback():
    [user_b] = users_in("B", 1)
    startup = (Experiment(EXP, enabled=False), Experiment("other", ("A", "B")))
    async with harness(views(), experiments=startup) as hs:
        await put_config(hs, CONFIG)
        doc = await (await hs.post("/v1/recommend", body(user_b))).json()
        assert doc["meta"]["experiment"] == {"id": EXP, "variant": "B"}
        other = [u for u in (f"u{i}" for i in range(100))
                 if ("A", "B")[u64(f"other:{u}") % 2] == "B"][0]
        doc = await (await hs.post("/v1/recommend",
                                   body(other, experiment={"id": "other"}))).json()
        # assigned by the startup definition; no overrides there → tenant weights
        assert doc["meta"]["experiment"] == {"id": "other", "variant": "B"}
        assert [i for i, _ in ranked(doc)] == ["a", "b", "c"]


def test_unequal_shares_split_by_cumulative_share_in_name_order():
    spec = Experiment(EXP, ("A", "B"), shares=(0.9, 0.1))
    for n in range(200):
        subject = f"user-{n}"
        expected = "A" if u64(f"{EXP}:{subject}") % 10000 < 9000 else "B"
        arm = assign(EXP, None, subject, "home", NOW, SALT, {EXP: spec})
        assert arm is not None and arm.variant == expected
    even = Experiment(EXP, ("A", "B"), shares=(0.5, 0.5))
    for n in range(50):  # an even split keeps the spec's mod-len formula
        arm = assign(EXP, None, f"user-{n}", "home", NOW, SALT, {EXP: even})
        assert arm is not None and arm.variant == ("A", "B")[u64(f"{EXP}:user-{n}") % 2]


# --- assignment.v1 once per unit -----------------------------------------------------


def _assignments(hs: Harness) -> list[Assignment]:
    return [e for e in hs.sink.events if isinstance(e, Assignment)]


async def test_assignment_is_logged_once_per_user_exposures_every_request():
    u1, u2 = users_in("A", 1)[0], users_in("B", 1)[0]
    async with harness(views()) as hs:
        await put_config(hs, CONFIG)
        for user in (u1, u1, u2, u1, u2):
            assert (await hs.post("/v1/recommend", body(user))).status == 200
        assignments = _assignments(hs)
        assert [(a.variant, a.request_id) for a in assignments] == [
            ("A", assignments[0].request_id), ("B", assignments[1].request_id)]
        exposures = [e for e in hs.sink.events if isinstance(e, Exposure)]
        assert [(e.context or {})["experiment_variant"] for e in exposures] == [
            "A", "A", "B", "A", "B"]
        assert [e.request_id for e in exposures][0] == assignments[0].request_id
        assert [e.request_id for e in exposures][2] == assignments[1].request_id


async def test_per_request_logging_logs_every_request():
    [u1] = users_in("A", 1)
    async with harness(views(), assignment_logging="per_request") as hs:
        await put_config(hs, CONFIG)
        for _ in range(3):
            await hs.post("/v1/recommend", body(u1))
        assert len(_assignments(hs)) == 3


async def test_the_lru_forgets_the_least_recently_seen_user():
    u1, u2 = users_in("A", 2)
    async with harness(views(), assignment_log_capacity=1) as hs:
        await put_config(hs, CONFIG)
        for user in (u1, u1, u2, u1):  # u2 evicts u1, so u1's third request logs again
            await hs.post("/v1/recommend", body(user))
        assert [a.user_id for a in _assignments(hs)] == [
            hmac.new(SALT.encode(), u.encode(), hashlib.sha256).hexdigest()
            for u in (u1, u2, u1)]


async def test_a_new_variant_for_the_same_user_is_logged_again():
    [u1] = users_in("A", 1)
    async with harness(views()) as hs:
        await put_config(hs, CONFIG)
        await hs.post("/v1/recommend", body(u1))
        await hs.post("/v1/recommend", body(u1))
        # the arms are redefined: the unit (tenant, experiment, variant, user) is new
        renamed = {EXP: {"status": "running", "variants": {"C": {"share": 0.5},
                                                           "D": {"share": 0.5}}}}
        await put_config(hs, {"experiments": renamed})
        await hs.post("/v1/recommend", body(u1))
        await hs.post("/v1/recommend", body(u1))
        third = ("C", "D")[u64(f"{EXP}:{u1}") % 2]
        assert [a.variant for a in _assignments(hs)] == ["A", third]


async def test_a_dropped_assignment_is_logged_by_the_next_request():
    [u1] = users_in("A", 1)
    sink = InMemorySink(capacity=1)  # the exposure fills it; the assignment is dropped
    async with harness(views(), sink=sink) as hs:
        await put_config(hs, CONFIG)
        await hs.post("/v1/recommend", body(u1))
        assert [e.SCHEMA for e in sink.events] == ["exposure.v1"] and sink.dropped == 1
        sink.events.clear()
        sink.capacity = 2
        await hs.post("/v1/recommend", body(u1))
        assert [e.SCHEMA for e in sink.events] == ["exposure.v1", "assignment.v1"]


def test_assignment_log_is_an_lru_refreshed_on_hits():
    log = AssignmentLog(2)
    assert [log.first((k,)) for k in ("a", "b", "a", "c", "a", "b")] == [
        True, True, False, True, False, True]  # c evicts b (a was refreshed), b evicts c
    assert len(log) == 2
    log.forget(("a",))
    assert log.first(("a",)) is True
    every = AssignmentLog(0)
    assert [every.first(("a",)) for _ in range(3)] == [True, True, True]


@pytest.mark.parametrize(("settings", "message"), [
    ({"assignment_logging": "sometimes"}, r"must be one of per_unit, per_request"),
    ({"assignment_log_capacity": 0}, r"assignment_log_capacity must be ≥ 1"),
])
def test_assignment_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServingSettings(exposure_salt="s", **settings)
