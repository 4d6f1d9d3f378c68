"""The generated decoders decode exactly like the generic path: same events, same errors."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import codec as codec_module
from schemas.codec import AvroCodec, frame
from schemas.event_decoders import Unsupported, build_decoder, generate
from schemas.events import EVENT_CLASSES, Exposure, ExposureItem, event_from_json
from schemas.registry import LOCAL_IDS, LocalRegistry, ParsedSchema, avro_schema_doc, parsed_schema
from schemas.validation import load_schema
from tests.unit.schemas.strategies import PROPERTY, any_doc, rfc3339

CODEC = AvroCodec()
EVENT_SCHEMAS = sorted(EVENT_CLASSES)

# Strings that are nearly timestamps: the contract check must reject or accept them alike.
ODD_TIMESTAMPS = [
    "",
    "2025-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2025-01-01T00:00:00Z\n",
    "2025-01-01T24:00:00Z",
    "2025-01-01t00:00:00z",
    "2025-01-01T00:00:00.Z",
    "2025-01-01T00:00:00+24:00",
]


def avro_values(node: Any) -> st.SearchStrategy[Any]:
    """Any value Avro can carry for ``node``, contract or not (empty ids, NaN, rank 0...)."""
    if isinstance(node, list):
        return st.none() | avro_values(node[1])
    kind = node if isinstance(node, str) else node["type"]
    if isinstance(kind, dict | list):
        return avro_values(kind)
    if kind == "string":
        return st.text(max_size=6) | rfc3339() | st.sampled_from(ODD_TIMESTAMPS)
    if kind in ("long", "int"):
        return st.integers(-3, 3) | st.integers(-(2**63), 2**63 - 1)
    if kind == "double":
        return st.floats() | st.sampled_from([0.0, -0.0, 0.5])
    if kind == "boolean":
        return st.booleans()
    if kind == "enum":
        return st.sampled_from(node["symbols"])
    if kind == "array":
        return st.lists(avro_values(node["items"]), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=4), avro_values(node["values"]), max_size=3)
    assert kind == "record", kind
    return st.fixed_dictionaries({f["name"]: avro_values(f["type"]) for f in node["fields"]})


def framed(schema: str, record: dict[str, Any]) -> bytes:
    """Framed Avro written by fastavro, bypassing the event checks."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema(schema), record)
    return frame(LOCAL_IDS[schema], buf.getvalue())


@st.composite
def any_frame(draw: st.DrawFn) -> tuple[str, bytes]:
    schema = draw(st.sampled_from(EVENT_SCHEMAS))
    return schema, framed(schema, draw(avro_values(avro_schema_doc(schema))))


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with a byte replaced, inserted or deleted, or with bytes appended."""
    at = draw(st.integers(0, len(data)))
    byte = bytes([draw(st.integers(0, 255))])
    how = draw(st.sampled_from(["truncate", "replace", "insert", "delete", "append"]))
    if how == "truncate":
        return data[:at]
    if how == "replace":
        return data[:at] + byte + data[at + 1 :]
    if how == "insert":
        return data[:at] + byte + data[at:]
    if how == "delete":
        return data[:at] + data[at + 1 :]
    return data + draw(st.binary(min_size=1, max_size=4))


def outcome(decode: Callable[[bytes], Any], data: bytes) -> Any:
    """The decoded event, or the type and message of what was raised."""
    try:
        return decode(data)
    except Exception as exc:  # any exception: a difference between the paths must show
        return type(exc), str(exc)


def assert_same_outcome(data: bytes, expected: str | None = None) -> Any:
    fast = outcome(lambda d: CODEC.decode(d, expected), data)
    generic = outcome(lambda d: CODEC.decode_generic(d, expected), data)
    assert fast == generic
    assert type(fast) is type(generic)
    if isinstance(fast, Exposure):
        assert all(type(item) is ExposureItem for item in fast.items)
    return fast


def test_every_event_schema_has_a_generated_decoder() -> None:
    assert all(build_decoder(name) is not None for name in EVENT_SCHEMAS)
    assert build_decoder("joined.v1") is None  # no event class: generic path


@PROPERTY
@given(any_doc)
def test_valid_events_decode_to_the_same_event(named: tuple[str, dict[str, Any]]) -> None:
    schema, doc = named
    event = event_from_json(schema, doc)
    decoded = assert_same_outcome(CODEC.encode(event), schema)
    assert decoded == event
    assert type(decoded) is type(event)


@PROPERTY
@given(any_frame())
def test_any_avro_record_decodes_or_fails_alike(named: tuple[str, bytes]) -> None:
    schema, data = named
    assert_same_outcome(data)
    assert_same_outcome(data, "outcome.v1")


@PROPERTY
@given(st.data(), any_frame())
def test_corrupted_frames_fail_alike(draw: st.DataObject, named: tuple[str, bytes]) -> None:
    schema, data = named
    assert_same_outcome(draw.draw(corrupted(data)), schema)


# One record per schema with every optional field set, and one with none (lists empty).
FULL_RECORDS: dict[str, dict[str, Any]] = {
    "exposure.v1": {
        "request_id": "r1",
        "user_id": "u1",
        "ts": "2025-01-01T00:00:00.5+01:00",
        "items": [
            {
                "item_id": "i1",
                "rank": 1,
                "propensity": 0.5,
                "logging_propensity": 0.25,
                "target_propensity": 1.0,
            }
        ],
        "context": {"k": "v"},
        "latency_ms": 3.0,
        "error": True,
    },
    "outcome.v1": {
        "request_id": "r1",
        "user_id": "u1",
        "item_id": "i1",
        "event_type": "conversion",
        "value": -2.5,
        "ts": "2025-01-01T00:00:00Z",
    },
    "assignment.v1": {
        "experiment_id": "e1",
        "variant": "B",
        "request_id": "r1",
        "user_id": "u1",
        "ts": "2025-01-01T00:00:00Z",
        "context": {"k": "v"},
    },
    "ranklist.v1": {
        "request_id": "r1",
        "user_id": "u1",
        "ts": "2025-01-01T00:00:00Z",
        "items": ["i1", "i2"],
        "context": {"k": "v"},
    },
    "item.v1": {
        "item_id": "i1",
        "tenant": "t1",
        "namespace": "n",
        "tags": ["a"],
        "price": 9.5,
        "created_at": "2025-01-01T00:00:00Z",
        "available": False,
    },
}
EDGE_VALUES: dict[str, list[Any]] = {
    "string": ["", "x", "é", *ODD_TIMESTAMPS],
    "long": [0, 1, -1, 2**63 - 1, -(2**63)],
    "double": [0.0, -0.0, -1e-300, 1e308, float("nan"), float("inf"), float("-inf")],
    "boolean": [True, False],
}


def empty_record(schema: str) -> dict[str, Any]:
    """The full record with every optional field null and every list empty."""
    record = {}
    for field in avro_schema_doc(schema)["fields"]:
        value = FULL_RECORDS[schema][field["name"]]
        if isinstance(field["type"], list):
            value = None
        elif isinstance(value, list):
            value = []
        record[field["name"]] = value
    return record


def edges(node: Any) -> list[Any]:
    if isinstance(node, list):  # ["null", T]
        return [None, *edges(node[1])]
    return EDGE_VALUES.get(node, []) if isinstance(node, str) else []


def edge_records(schema: str) -> list[dict[str, Any]]:
    """The full record with one field, of the record or of its first item, set to an edge."""
    full = FULL_RECORDS[schema]
    out = []
    for field in avro_schema_doc(schema)["fields"]:
        out += [{**full, field["name"]: value} for value in edges(field["type"])]
        if field["name"] == "items" and schema == "exposure.v1":
            item = full["items"][0]
            for f in field["type"]["items"]["fields"]:
                out += [{**full, "items": [{**item, f["name"]: v}]} for v in edges(f["type"])]
    return out


@pytest.mark.parametrize("schema", EVENT_SCHEMAS)
def test_edge_values_decode_or_fail_alike(schema: str) -> None:
    for record in edge_records(schema):
        assert_same_outcome(framed(schema, record))


@pytest.mark.parametrize("schema", EVENT_SCHEMAS)
@pytest.mark.parametrize("full", [True, False], ids=["full", "empty"])
def test_every_truncation_and_byte_change_fails_alike(schema: str, full: bool) -> None:
    data = framed(schema, FULL_RECORDS[schema] if full else empty_record(schema))
    assert_same_outcome(data)
    for at in range(len(data)):
        assert_same_outcome(data[:at])
        for byte in (0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF):
            assert_same_outcome(data[:at] + bytes([byte]) + data[at + 1 :])
        assert_same_outcome(data[:at] + data[at + 1 :])
    assert_same_outcome(data + b"\x00")


def test_a_required_field_that_avro_may_null_is_checked() -> None:
    json_doc = load_schema("outcome.v1")
    json_doc["required"].append("value")
    source, namespace = generate("outcome.v1", None, json_doc)
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102
    record = FULL_RECORDS["outcome.v1"]
    _, _, valid = namespace["read"](framed("outcome.v1", record), 5)
    assert valid
    _, _, valid = namespace["read"](framed("outcome.v1", {**record, "value": None}), 5)
    assert not valid


def test_decoded_events_are_the_frozen_hashable_dataclasses() -> None:
    item = ExposureItem("i1", 1, logging_propensity=0.5)
    event = Exposure("r1", "u1", "2025-01-01T00:00:00Z", (item,), None, 1.0, True)
    decoded = CODEC.decode(CODEC.encode(event))
    assert isinstance(decoded, Exposure)
    (decoded_item,) = decoded.items
    assert type(decoded_item) is ExposureItem and decoded_item == item
    assert hash(decoded_item) == hash(item) and hash(decoded) == hash(event)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded_item.rank = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.ts = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            lambda a, j: j["properties"]["user_id"].update(maxLength=64),
            r"keywords \['maxLength'\]",
        ),
        (lambda a, j: j["properties"]["ts"].update(format="date"), r"format 'date'"),
        (lambda a, j: j["properties"]["latency_ms"].update(type="integer"), r"JSON Schema type"),
        (lambda a, j: j.update(additionalProperties={"type": "string"}), r"object rules"),
        (lambda a, j: a["fields"].append({"name": "x", "type": "bytes"}), r"not compiled"),
        (lambda a, j: a.update(name="Other"), r"the Avro record is not Exposure"),
    ],
)
def test_rules_the_generator_cannot_enforce_make_it_give_up(
    change: Callable[[dict[str, Any], dict[str, Any]], None], pattern: str
) -> None:
    avro_doc, json_doc = avro_schema_doc("exposure.v1"), load_schema("exposure.v1")
    change(avro_doc, json_doc)
    with pytest.raises(Unsupported, match=pattern):
        generate("exposure.v1", avro_doc, json_doc)


def test_without_a_generated_decoder_the_generic_path_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = CODEC.encode(Exposure("r", "u", "2025-01-01T00:00:00Z", (ExposureItem("i", 1),)))
    monkeypatch.setattr(codec_module, "build_decoder", lambda name: None)
    assert AvroCodec().decode(data) == CODEC.decode(data)
    with pytest.raises(codec_module.DecodeError, match=r"^truncated Avro body"):
        AvroCodec().decode(data[:-1])


class CountingRegistry(LocalRegistry):
    """The local registry, counting ``resolve`` calls; its writer schemas can be foreign."""

    def __init__(self, foreign_writer: bool = False) -> None:
        super().__init__()
        self.resolved = 0
        if foreign_writer:  # equal schemas, other objects: as if fetched from a registry
            self._by_id = {
                i: (name, fastavro.parse_schema(avro_schema_doc(name)))
                for i, (name, _) in self._by_id.items()
            }

    async def resolve(self, schema_id: int) -> tuple[str, ParsedSchema]:
        self.resolved += 1
        return await super().resolve(schema_id)


def test_a_foreign_writer_schema_takes_the_generic_path() -> None:
    event = Exposure("r", "u", "2025-01-01T00:00:00Z", (ExposureItem("i", 1),))
    codec = AvroCodec(CountingRegistry(foreign_writer=True))
    assert codec.decode(CODEC.encode(event)) == event


async def test_decode_async_resolves_each_schema_id_once() -> None:
    registry = CountingRegistry()
    codec = AvroCodec(registry)
    data = CODEC.encode(Exposure("r", "u", "2025-01-01T00:00:00Z", (ExposureItem("i", 1),)))
    for _ in range(3):
        assert await codec.decode_async(data, "exposure.v1") == CODEC.decode(data)
    assert registry.resolved == 1
    with pytest.raises(codec_module.DecodeError, match="schema id 77 unknown"):
        await codec.decode_async(frame(77, b""))
    with pytest.raises(codec_module.DecodeError, match="schema id 77 unknown"):
        await codec.decode_async(frame(77, b""))
    assert registry.resolved == 3  # a failed resolve is not remembered
