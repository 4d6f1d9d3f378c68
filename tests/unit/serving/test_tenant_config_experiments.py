"""The ``experiments`` section of the tenant config: parsing and the invalid-input table."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.errors import ServingError
from serving.engine.weights import Weights
from serving.experiments import Experiment
from serving.tenant_config import VariantOverride, content_etag, parse_config
from tests.unit.serving.app_fixtures import harness

ADMIN = "/v1/admin/tenants/t1"
EXAMPLE: dict[str, Any] = {
    "weights": {"pop": 1.0},
    "algo": "blend",
    "experiments": {
        "demo-covis": {
            "status": "running",
            "surfaces": ["Home", "pdp", "home"],
            "traffic": 0.5,
            "starts_at": "2023-11-14T00:00:00Z",
            "ends_at": "2023-11-15T00:00:00Z",
            # B before A on purpose: variants are kept in name order
            "variants": {"B": {"share": 0.25, "weights": {"pop": 0.3, "cooc": 1.0}},
                         "A": {"share": 0.75, "algo": "Popularity"}},
        },
        "old": {"status": "ended", "variants": {"x": {"share": 0.5}, "y": {"share": 0.5}}},
    },
}


def test_example_document_parses_into_definitions_and_overrides():
    config = parse_config(EXAMPLE)
    running = config.experiments["demo-covis"]
    assert running.status == "running"
    assert running.definition == Experiment(
        "demo-covis", ("A", "B"), enabled=True, traffic_percent=50.0,
        starts_at_ms=1_699_920_000_000, ends_at_ms=1_700_006_400_000,
        surfaces=("home", "pdp"), shares=(0.75, 0.25))
    assert running.override("A") == VariantOverride(None, "popularity")
    assert running.override("B") == VariantOverride(Weights(0.3, 1.0, 0.0), None)
    assert running.override("C") is None
    ended = config.experiments["old"].definition
    assert (ended.enabled, ended.variants, ended.traffic_percent) == (False, ("x", "y"), 100.0)


def test_key_order_does_not_change_the_definition_or_the_version():
    flipped = copy.deepcopy(EXAMPLE)
    exp = flipped["experiments"]["demo-covis"]
    exp["variants"] = dict(reversed(list(exp["variants"].items())))
    assert parse_config(flipped).experiments == parse_config(EXAMPLE).experiments
    assert content_etag(flipped) == content_etag(EXAMPLE)


def test_shares_within_the_tolerance_and_nulls_count_as_absent():
    doc = {"experiments": {"e": {"status": "paused", "surfaces": None, "traffic": None,
                                 "variants": {"A": {"share": 1 / 3, "weights": None},
                                              "B": {"share": 1 / 3, "algo": None},
                                              "C": {"share": 1 / 3}}}}}
    definition = parse_config(doc).experiments["e"].definition
    assert definition.variants == ("A", "B", "C") and definition.enabled is False
    assert parse_config({"experiments": None}).experiments == {}


def _with(experiment: dict[str, Any]) -> dict[str, Any]:
    return {"experiments": {"e": experiment}}


AB = {"A": {"share": 0.5}, "B": {"share": 0.5}}
RUNNING = {"status": "running", "variants": AB}

INVALID = [
    ({"experiment": {}}, r"unknown config field 'experiment'"),
    ({"experiments": []}, r"experiments must be an object"),
    ({"experiments": {f"e{n}": RUNNING for n in range(101)}}, r"at most 100"),
    ({"experiments": {" e": RUNNING}}, r"experiment id ' e' must be a non-blank string"),
    ({"experiments": {"": RUNNING}}, r"experiment id '' must be"),
    ({"experiments": {"e": "running"}}, r"experiments\.e must be an object"),
    (_with({**RUNNING, "colour": "red"}), r"unknown field experiments\.e\.colour; known: "),
    (_with({"variants": AB}), r"experiments\.e\.status must be one of draft, running, paused"),
    (_with({**RUNNING, "status": "live"}), r"status must be one of .*got 'live'"),
    (_with({**RUNNING, "surfaces": "home"}), r"experiments\.e\.surfaces must be an array"),
    (_with({**RUNNING, "surfaces": ["home page"]}), r"'home page' is not a safe path segment"),
    (_with({**RUNNING, "traffic": 1.5}), r"traffic must be between 0 and 1; got 1\.5"),
    (_with({**RUNNING, "traffic": -0.1}), r"traffic must be between 0 and 1"),
    (_with({**RUNNING, "traffic": "all"}), r"experiments\.e\.traffic must be a number"),
    (_with({**RUNNING, "starts_at": "yesterday"}), r"starts_at: 'yesterday' is not an RFC 3339"),
    (_with({**RUNNING, "starts_at": "2023-11-15T00:00:00Z", "ends_at": "2023-11-15T00:00:00Z"}),
     r"ends_at must be after starts_at"),
    (_with({"status": "running"}), r"variants must be an object with 2 to 20 variants"),
    (_with({"status": "running", "variants": {"A": {"share": 1.0}}}), r"2 to 20 variants"),
    (_with({"status": "running", "variants": {f"v{n}": {"share": 0.04} for n in range(25)}}),
     r"2 to 20 variants"),
    (_with({"status": "running", "variants": {"A": {"share": 0.5}, "B": {"share": 0.4}}}),
     r"shares sum to 0\.9, not 1"),
    (_with({"status": "running", "variants": {"A": {"share": 0.6}, "B": {"share": 0.6}}}),
     r"shares sum to 1\.2, not 1"),
    (_with({"status": "running", "variants": {"A": {"share": 1.0}, "B": {"share": 0}}}),
     r"variants\.B\.share is required, in \(0, 1\]"),
    (_with({"status": "running", "variants": {"A": {"share": 0.5}, "B": {}}}),
     r"variants\.B\.share is required"),
    (_with({"status": "running", "variants": {"A": {"share": 0.5}, "B": 0.5}}),
     r"variants\.B must be an object"),
    (_with({"status": "running", "variants": {"A": {"share": 0.5}, " ": {"share": 0.5}}}),
     r"variants key ' ' must be a non-blank string"),
    (_with({"status": "running", "variants": {**AB, "A": {"share": 0.5, "bias": 1}}}),
     r"unknown field experiments\.e\.variants\.A\.bias; known: algo, share, weights"),
    (_with({"status": "running", "variants": {**AB, "A": {"share": 0.5, "algo": "magic"}}}),
     r"variants\.A\.algo must be one of blend, popularity, cooc, implicit; got 'magic'"),
    (_with({"status": "running", "variants": {**AB, "B": {"share": 0.5,
                                                          "weights": {"cooc": -1}}}}),
     r"variants\.B\.weights must be non-negative"),
    (_with({"status": "running", "variants": {**AB, "B": {"share": 0.5,
                                                          "weights": {"cooc": "high"}}}}),
     r"variants\.B\.weights\.cooc must be a number"),
    (_with({"status": "running", "variants": {**AB, "B": {"share": 0.5,
                                                          "weights": {"gamma": 1}}}}),
     r"unknown field experiments\.e\.variants\.B\.weights\.'gamma'"),
]


@pytest.mark.parametrize(("doc", "message"), INVALID)
def test_invalid_experiments_are_422_invalid_config(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ServingError, match=message) as info:
        parse_config(doc)
    assert (info.value.status, info.value.code) == (422, "RECSYS_INVALID_CONFIG")


async def test_admin_put_validates_versions_and_audits_experiments():
    bad = _with({"status": "running", "variants": {"A": {"share": 0.5}, "B": {"share": 0.4}}})
    op = {"X-API-Key": "t1-operator"}
    async with harness() as hs:
        c = hs.client
        refused = await c.put(f"{ADMIN}/config", json=bad, headers=op)
        assert refused.status == 422
        problem = await refused.json()
        assert problem["code"] == "RECSYS_INVALID_CONFIG"
        assert "shares sum to 0.9" in problem["detail"]
        assert hs.store.current("t1", "config") is None  # nothing was stored

        ok = await c.put(f"{ADMIN}/config", json=EXAMPLE, headers=op)
        assert ok.status == 200
        assert ok.headers["ETag"] == f'"{content_etag(EXAMPLE)}"'
        got = await (await c.get(f"{ADMIN}/config", headers=op)).json()
        assert got["config"] == EXAMPLE
        audit = await (await c.get(f"{ADMIN}/audit", headers=op)).json()
        assert [(e["action"], e["entity_id"]) for e in audit["entries"]] == [
            ("config.update", content_etag(EXAMPLE))]
