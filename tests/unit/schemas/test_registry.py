"""Local registry ids, and the Confluent client against an in-process fake Schema Registry."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from schemas.codec import AvroCodec, schema_id_of
from schemas.errors import DecodeError, RegistryError
from schemas.events import Outcome
from schemas.registry import (
    CONTENT_TYPE,
    LOCAL_IDS,
    SUBJECTS,
    ConfluentRegistry,
    LocalRegistry,
    SchemaRegistry,
    avro_schema_doc,
    open_registry,
    parsed_schema,
    schema_text,
)
from schemas.validation import SCHEMA_NAMES

OUTCOME = Outcome("r1", "u1", "i1", "conversion", "2025-01-01T00:00:10Z", 9.5)


class FakeSchemaRegistry:
    """The two endpoints we use, with Confluent's semantics: one global id per schema text."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.texts: dict[int, dict[str, Any]] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str, str | None, str | None]] = []
        self.fail_status: int | None = None

    def add(self, text: str, schema_type: str | None = None) -> int:
        if text not in self.ids:
            self.ids[text] = 100 + len(self.ids)
            entry: dict[str, Any] = {"schema": text}
            if schema_type is not None:
                entry["schemaType"] = schema_type
            self.texts[self.ids[text]] = entry
        return self.ids[text]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/subjects/{subject}/versions", self.register)
        app.router.add_get("/schemas/ids/{id}", self.fetch)
        return app

    def _log(self, request: web.Request) -> None:
        self.requests.append(
            (
                request.method,
                request.path,
                request.headers.get("Content-Type"),
                request.headers.get("Authorization"),
            )
        )

    async def register(self, request: web.Request) -> web.Response:
        self._log(request)
        if self.fail_status is not None:
            return web.json_response(
                {"error_code": 50001, "message": "store down"}, status=self.fail_status
            )
        body = await request.json()
        assert body["schemaType"] == "AVRO"
        schema_id = self.add(body["schema"])
        self.subjects.setdefault(request.match_info["subject"], []).append(schema_id)
        return web.json_response({"id": schema_id}, content_type=CONTENT_TYPE)

    async def fetch(self, request: web.Request) -> web.Response:
        self._log(request)
        entry = self.texts.get(int(request.match_info["id"]))
        if entry is None:
            return web.json_response(
                {"error_code": 40403, "message": "Schema not found"}, status=404
            )
        return web.json_response(entry, content_type=CONTENT_TYPE)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeSchemaRegistry, str]]:
    registry = FakeSchemaRegistry()
    server = TestServer(registry.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield registry, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def test_local_ids_are_the_fixed_table() -> None:
    local = LocalRegistry()
    assert {name: local.id_for(name) for name in (*SCHEMA_NAMES, "joined.v1")} == {
        "exposure.v1": 1,
        "outcome.v1": 2,
        "assignment.v1": 3,
        "ranklist.v1": 4,
        "item.v1": 5,
        "joined.v1": 6,
    }
    assert local.schema_for(2) == ("outcome.v1", parsed_schema("outcome.v1"))
    with pytest.raises(DecodeError, match="schema id 7 unknown"):
        local.schema_for(7)
    with pytest.raises(RegistryError, match=r"no schema 'x\.v1'; known: exposure\.v1"):
        local.id_for("x.v1")
    assert isinstance(local, SchemaRegistry)


async def test_connect_registers_every_schema_under_its_topic_subject(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    server, url = fake
    registry = await ConfluentRegistry.connect(url)
    assert set(server.subjects) == {
        "recsys.exposures.v1-value",
        "recsys.outcomes.v1-value",
        "recsys.assignments.v1-value",
        "recsys.ranklists.v1-value",
        "recsys.items.v1-value",
        "recsys.joined.v1-value",
    }
    assert set(SUBJECTS.values()) == set(server.subjects)
    for name in SCHEMA_NAMES:
        (schema_id,) = server.subjects[SUBJECTS[name]]
        assert registry.id_for(name) == schema_id
        assert json.loads(server.texts[schema_id]["schema"]) == avro_schema_doc(name)
    assert {ct for method, _, ct, _ in server.requests if method == "POST"} == {CONTENT_TYPE}
    assert isinstance(registry, SchemaRegistry)


async def test_frames_carry_the_registry_ids_and_decode_back(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    _, url = fake
    codec = AvroCodec(await ConfluentRegistry.connect(url))
    data = codec.encode(OUTCOME)
    assert schema_id_of(data) == codec.registry.id_for("outcome.v1") >= 100
    assert data[5:] == AvroCodec(LocalRegistry()).encode(OUTCOME)[5:]  # same body, other id
    assert codec.decode(data, "outcome.v1") == OUTCOME


async def test_an_id_first_seen_on_the_wire_is_resolved_then_decoded(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    server, url = fake
    writer = AvroCodec(await ConfluentRegistry.connect(url))
    data = writer.encode(OUTCOME)
    reader = AvroCodec(
        await ConfluentRegistry.connect(url, subjects={"exposure.v1": SUBJECTS["exposure.v1"]})
    )
    server.texts[999] = server.texts[
        schema_id_of(data)
    ]  # the same schema under an id we never registered
    data = data[:1] + (999).to_bytes(4, "big") + data[5:]
    with pytest.raises(
        DecodeError, match=r"schema id 999 unknown .*await registry\.resolve\(999\)"
    ):
        reader.decode(data)
    assert await reader.decode_async(data, "outcome.v1") == OUTCOME
    assert reader.decode(data) == OUTCOME  # now cached: no second fetch
    assert [p for m, p, _, _ in server.requests if m == "GET"] == ["/schemas/ids/999"]


async def test_an_evolved_writer_schema_decodes_through_schema_resolution(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    import io

    import fastavro

    server, url = fake
    evolved = avro_schema_doc("outcome.v1")
    evolved["fields"].append({"name": "channel", "type": "string", "default": "web"})
    schema_id = server.add(json.dumps(evolved))
    body = io.BytesIO()
    fastavro.schemaless_writer(
        body, fastavro.parse_schema(evolved), {**OUTCOME.to_avro(), "channel": "app"}
    )
    data = b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()
    codec = AvroCodec(await ConfluentRegistry.connect(url))
    assert await codec.decode_async(data, "outcome.v1") == OUTCOME


@pytest.mark.parametrize(
    ("entry", "error", "pattern"),
    [
        (None, DecodeError, r"schema id 4242 unknown to registry http://127\.0\.0\.1"),
        (
            {"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"},
            DecodeError,
            r"schema id 4242 is a PROTOBUF schema, not Avro",
        ),
        (
            {
                "schema": json.dumps(
                    {"type": "record", "name": "Other", "namespace": "x", "fields": []}
                )
            },
            DecodeError,
            r"schema id 4242 is 'x\.Other', not one of our contracts",
        ),
        (
            {"schema": "{not json"},
            RegistryError,
            r"fetching schema id 4242 from .*: not a valid Avro schema",
        ),
        ({"nothing": 1}, RegistryError, r"answer has no 'schema' string"),
    ],
)
async def test_bad_fetches_fail_clearly(
    fake: tuple[FakeSchemaRegistry, str],
    entry: dict[str, Any] | None,
    error: type[Exception],
    pattern: str,
) -> None:
    server, url = fake
    if entry is not None:
        server.texts[4242] = entry
    registry = await ConfluentRegistry.connect(url, subjects={})
    with pytest.raises(error, match=pattern):
        await registry.resolve(4242)


async def test_a_failing_registration_names_url_subject_and_status(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    server, url = fake
    server.fail_status = 500
    with pytest.raises(
        RegistryError,
        match=r"registering exposure\.v1 as subject 'recsys\.exposures\.v1-value' "
        r"at http://127\.0\.0\.1:\d+: HTTP 500: .*store down",
    ):
        await ConfluentRegistry.connect(url)


async def test_credentials_in_the_url_become_basic_auth_and_are_masked(
    fake: tuple[FakeSchemaRegistry, str],
) -> None:
    server, url = fake
    secured = url.replace("http://", "http://key:hunter2@")
    registry = await ConfluentRegistry.connect(secured, subjects={"item.v1": SUBJECTS["item.v1"]})
    expected = "Basic " + base64.b64encode(b"key:hunter2").decode()
    assert {auth for _, _, _, auth in server.requests} == {expected}
    assert "hunter2" not in repr(registry) and "hunter2" not in registry.url
    with pytest.raises(DecodeError) as info:
        await registry.resolve(31337)
    assert "hunter2" not in str(info.value) and "key:***@" in str(info.value)
    with pytest.raises(
        RegistryError, match=r"'outcome\.v1' is not registered at .* \(registered: item\.v1\)"
    ):
        registry.id_for("outcome.v1")


async def test_an_unreachable_registry_is_a_registry_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        RegistryError,
        match=rf"registering exposure\.v1 .* at http://127\.0\.0\.1:{port}: ClientConnectorError",
    ):
        await ConfluentRegistry.connect(f"http://127.0.0.1:{port}", timeout_s=2)


async def test_open_registry_picks_local_or_confluent(fake: tuple[FakeSchemaRegistry, str]) -> None:
    _, url = fake
    assert isinstance(await open_registry(None), LocalRegistry)
    assert isinstance(await open_registry(""), LocalRegistry)
    remote = await open_registry(url)
    assert isinstance(remote, ConfluentRegistry)
    assert remote.id_for("item.v1") >= 100


def test_registered_text_is_the_compact_avsc() -> None:
    for name in LOCAL_IDS:
        assert json.loads(schema_text(name)) == avro_schema_doc(name)
        assert "\n" not in schema_text(name)
