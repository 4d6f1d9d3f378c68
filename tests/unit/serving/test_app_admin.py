"""The admin API: versions by content hash, If-Match, rollback, audit, cache, isolation."""

from __future__ import annotations

import hashlib

import orjson

from tests.unit.serving.app_fixtures import harness

ADMIN = "/v1/admin/tenants/t1"
REC = {"surface": "home", "k": 3, "user": {"user_id": "u1"}}


def etag_of(doc: object) -> str:
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def test_config_versions_if_match_rollback_and_audit():
    v1 = {"weights": {"pop": 1, "cooc": 0.5}, "algo": "blend"}
    v2 = {"weights": {"pop": 0.5}}
    async with harness() as hs:
        c = hs.client
        op = {"X-API-Key": "t1-operator"}
        r1 = await c.put(f"{ADMIN}/config", json=v1, headers=op)
        assert r1.status == 200
        assert r1.headers["ETag"] == f'"{etag_of(v1)}"'
        assert await r1.json() == {"tenant_id": "t1", "config_version": etag_of(v1), "config": v1}
        r2 = await c.put(f"{ADMIN}/config", json=v2,
                         headers={**op, "If-Match": r1.headers["ETag"]})
        assert r2.status == 200
        stale = await c.put(f"{ADMIN}/config", json=v1,
                            headers={**op, "If-Match": r1.headers["ETag"]})
        assert stale.status == 409
        back = await c.put(f"{ADMIN}/config", json=v1,
                           headers={**op, "If-Match": r2.headers["ETag"]})
        assert back.headers["ETag"] == r1.headers["ETag"]  # rollback reuses the version
        got = await c.get(f"{ADMIN}/config", headers={"X-API-Key": "t1-viewer"})
        assert (await got.json())["config"] == v1
        rec = await (await hs.post("/v1/recommend", REC)).json()
        assert rec["meta"]["config_version"] == etag_of(v1)
        assert rec["meta"]["algo_version"] == "recsys-algo@local:blend"

        audit = await (await c.get(f"{ADMIN}/audit", headers=op)).json()
        assert [(e["action"], e["entity_id"]) for e in audit["entries"]] == [
            ("config.update", etag_of(v1)), ("config.update", etag_of(v2)),
            ("config.update", etag_of(v1))]
        newest = audit["entries"][0]
        assert (newest["before_state"], newest["after_state"]) == (v2, v1)
        assert newest["actor_sub"] == "t1-operator"
        viewer = await (await c.get(f"{ADMIN}/audit?limit=1",
                                    headers={"X-API-Key": "t1-viewer"})).json()
        assert len(viewer["entries"]) == 1 and "before_state" not in viewer["entries"][0]
        page = await (await c.get(f"{ADMIN}/audit?before_id={newest['id']}",
                                  headers=op)).json()
        assert [e["entity_id"] for e in page["entries"]] == [etag_of(v2), etag_of(v1)]


async def test_if_match_takes_a_list_of_etags_or_a_star():
    v1, v2, v3 = {"weights": {"pop": 1}}, {"weights": {"pop": 2}}, {"weights": {"pop": 3}}
    async with harness() as hs:
        op = {"X-API-Key": "t1-operator"}
        r1 = await hs.client.put(f"{ADMIN}/config", json=v1, headers=op)
        listed = f'"other", {r1.headers["ETag"]}'
        r2 = await hs.client.put(f"{ADMIN}/config", json=v2, headers={**op, "If-Match": listed})
        assert r2.status == 200
        # the list no longer names the current version (v2)
        stale = await hs.client.put(f"{ADMIN}/config", json=v3,
                                    headers={**op, "If-Match": listed})
        assert (stale.status, (await stale.json())["code"]) == (409, "RECSYS_VERSION_MISMATCH")
        star = await hs.client.put(f"{ADMIN}/config", json=v3,
                                   headers={**op, "If-Match": '"other", *'})
        assert star.status == 200 and star.headers["ETag"] == f'"{etag_of(v3)}"'


async def test_config_weights_drive_ranking():
    async with harness() as hs:
        hs.views.covisitation[("t1", "home", "d")] = {"c": 9.0}
        body = {**REC, "anchors": {"item_ids": ["d"], "max_anchors": 1}}
        before = await (await hs.post("/v1/recommend", body)).json()
        assert [i["item_id"] for i in before["items"]] == ["a", "b", "c"]
        await hs.client.put(f"{ADMIN}/config", json={"weights": {"pop": 1, "cooc": 1}},
                            headers={"X-API-Key": "t1-admin"})
        after = await (await hs.post("/v1/recommend", body)).json()
        # c: 0.5 + 0.9 = 1.4 first
        assert [i["item_id"] for i in after["items"]] == ["c", "a", "b"]


async def test_rules_document_pins_and_blocks_with_reason_tokens():
    rules = {"rules": [
        {"rule_id": "pin-z", "action": "force", "target": {"type": "product",
                                                           "item_ids": ["z"]}},
        {"rule_id": "ban-a", "operation": "ban", "item_ids": "a", "priority": 9},
    ]}
    async with harness() as hs:
        put = await hs.client.put(f"{ADMIN}/rules", json=rules, headers={"X-API-Key": "t1-admin"})
        assert put.status == 200
        doc = await (await hs.post("/v1/recommend", {
            **REC, "options": {"include_reasons": True}})).json()
        assert [(i["item_id"], i["reasons"]) for i in doc["items"]] == [
            ("z", ["rule.pin[pin-z]"]), ("b", ["recent_popularity"]),
            ("c", ["recent_popularity"])]
        assert doc["meta"]["rules_version"] == etag_of(rules)
        assert [w["code"] for w in doc["warnings"]] == ["DEFAULT_APPLIED", "RULE_PIN_INJECTED"]


async def test_cache_invalidation_is_applied_and_audited():
    async with harness() as hs:
        op = {"X-API-Key": "t1-operator"}
        await hs.client.put(f"{ADMIN}/config", json={"weights": {"pop": 1}}, headers=op)
        await hs.post("/v1/recommend", REC)  # parses and caches the config
        resp = await hs.client.post(f"{ADMIN}/cache/invalidate",
                                    json={"targets": ["config", "popularity"]}, headers=op)
        assert await resp.json() == {"tenant_id": "t1", "targets": ["config", "popularity"],
                                     "surface": None, "status": "applied",
                                     "invalidated": {"config": 1, "popularity": 0}}
        audit = await (await hs.client.get(f"{ADMIN}/audit?limit=1", headers=op)).json()
        assert audit["entries"][0]["action"] == "cache.invalidate"


async def test_viewer_cannot_write():
    async with harness() as hs:
        resp = await hs.client.put(f"{ADMIN}/config", json={}, headers={"X-API-Key": "t1-viewer"})
        assert (resp.status, (await resp.json())["code"]) == (403, "RECSYS_FORBIDDEN")


async def test_tenant_isolation_a_key_of_t1_reads_nothing_of_t2():
    async with harness() as hs:
        t2 = {"X-API-Key": "t2-admin"}
        await hs.client.put("/v1/admin/tenants/t2/config", json={"weights": {"pop": 1}},
                            headers=t2)
        await hs.client.put("/v1/admin/tenants/t2/rules", json=[], headers=t2)
        hs.views.popularity[("t2", "home")] = {"secret-item": 100.0}
        t1 = {"X-API-Key": "t1-admin"}
        for method, path in [("GET", "config"), ("GET", "rules"), ("GET", "audit"),
                             ("PUT", "config"), ("PUT", "rules"),
                             ("POST", "cache/invalidate")]:
            resp = await hs.client.request(method, f"/v1/admin/tenants/t2/{path}", json={},
                                           headers=t1)
            assert resp.status == 403, path
            assert (await resp.json())["code"] == "RECSYS_TENANT_SCOPE_MISMATCH"
        spoof = await hs.post("/v1/recommend", REC, **{"X-Org-Id": "t2"})
        assert spoof.status == 403
        own = await (await hs.post("/v1/recommend", REC)).json()
        assert own["meta"]["tenant_id"] == "t1"
        assert "secret-item" not in [i["item_id"] for i in own["items"]]
        theirs = await (await hs.post("/v1/recommend", REC, key="t2-admin")).json()
        assert [i["item_id"] for i in theirs["items"]] == ["secret-item"]
