"""The Avro and JSON Schema twins describe the same records (computed by walking both)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from schemas.registry import avro_schema_doc
from schemas.validation import SCHEMA_NAMES, load_schema

Shape = Any
"""Normalized type: "string" | "number" | "integer" | "boolean" | ("enum", symbols)
| ("array", Shape) | ("map", Shape) | ("record", ((field, required, Shape), ...))."""

AVRO_PRIMITIVES = {
    "string": "string",
    "double": "number",
    "float": "number",
    "long": "integer",
    "int": "integer",
    "boolean": "boolean",
}


def json_shape(node: dict[str, Any]) -> Shape:
    if "enum" in node:
        assert node.get("type") == "string", node
        return ("enum", tuple(node["enum"]))
    kind = node["type"]
    if kind == "array":
        return ("array", json_shape(node["items"]))
    if kind == "object" and "properties" not in node:
        return ("map", json_shape(node["additionalProperties"]))
    if kind == "object":
        required = set(node.get("required", ()))
        assert required <= set(node["properties"]), "required field without a property"
        return (
            "record",
            tuple(
                (name, name in required, json_shape(prop))
                for name, prop in node["properties"].items()
            ),
        )
    assert kind in ("string", "number", "integer", "boolean"), kind
    return kind


def avro_shape(node: Any) -> Shape:
    if isinstance(node, str):
        return AVRO_PRIMITIVES[node]
    kind = node["type"]
    if kind == "enum":
        return ("enum", tuple(node["symbols"]))
    if kind == "array":
        return ("array", avro_shape(node["items"]))
    if kind == "map":
        return ("map", avro_shape(node["values"]))
    if kind == "record":
        fields = []
        for field in node["fields"]:
            ftype = field["type"]
            if isinstance(ftype, list):
                # optional: exactly ["null", T] with default null
                assert len(ftype) == 2 and ftype[0] == "null", field
                assert "default" in field and field["default"] is None, field
                fields.append((field["name"], False, avro_shape(ftype[1])))
            else:
                assert "default" not in field, f"required field with a default: {field}"
                fields.append((field["name"], True, avro_shape(ftype)))
        return ("record", tuple(fields))
    return avro_shape(kind)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_avro_and_json_schema_twins_agree(name: str) -> None:
    assert avro_shape(avro_schema_doc(name)) == json_shape(load_schema(name))


def test_joined_output_schema_twins_agree() -> None:
    # joined.v1 is an output of the live join, not an input event (not in SCHEMA_NAMES).
    text = resources.files("schemas").joinpath("json", "joined.v1.json").read_text()
    doc = json.loads(text)
    assert doc["additionalProperties"] is False
    assert avro_shape(avro_schema_doc("joined.v1")) == json_shape(doc)
    assert avro_schema_doc("joined.v1")["namespace"] == "recsys.v1"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_has_an_avro_twin_in_the_recsys_v1_namespace(name: str) -> None:
    doc = avro_schema_doc(name)
    assert doc["namespace"] == "recsys.v1"
    shipped = {p.name for p in resources.files("schemas").joinpath("avro").iterdir()}
    assert f"{name}.avsc" in shipped


def test_top_level_json_objects_are_closed_but_exposure_items_are_open() -> None:
    # Avro records are closed; the one open JSON object is documented as dropping extras.
    for name in SCHEMA_NAMES:
        assert load_schema(name)["additionalProperties"] is False
    assert "additionalProperties" not in load_schema("exposure.v1")["properties"]["items"]["items"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda j, a: j["required"].remove("ts"), "required"),
        (lambda j, a: j["properties"].update(extra={"type": "string"}), "property"),
        (lambda j, a: j["properties"]["event_type"]["enum"].append("view"), "enum"),
        (lambda j, a: a["fields"][4].update(type=["null", "long"]), "type"),
        (lambda j, a: a["fields"][4].update(type="double"), "optional"),
    ],
)
def test_the_twin_check_notices_a_drift(mutate: Any, where: str) -> None:
    json_doc = copy.deepcopy(load_schema("outcome.v1"))
    avro_doc = json.loads(json.dumps(avro_schema_doc("outcome.v1")))
    mutate(json_doc, avro_doc)
    try:
        same = avro_shape(avro_doc) == json_shape(json_doc)
    except AssertionError:
        same = False  # the walk itself rejected the drift (e.g. a default on a required field)
    assert not same, f"a {where} drift went unnoticed"
