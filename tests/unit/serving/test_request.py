"""The recommend request contract (spec §4.2): defaults, normalisation, invalid inputs."""

from __future__ import annotations

import re

import orjson
import pytest

from schemas.errors import ServingError
from serving.request import parse_recommend

U = {"user": {"user_id": "u1"}}


def body(**doc: object) -> bytes:
    return orjson.dumps({"surface": "home", **U, **doc})


def test_minimal_request_gets_every_default_with_warnings():
    req = parse_recommend(body())
    assert (req.segment, req.k, req.max_anchors, req.explain) == ("default", 20, 50, "none")
    assert [(w.code, w.detail) for w in req.warnings] == [
        ("DEFAULT_APPLIED", "segment defaulted to 'default'"),
        ("DEFAULT_APPLIED", "k defaulted to 20"),
        ("DEFAULT_APPLIED", "options defaulted"),
    ]


def test_anchors_without_max_anchors_warn_and_everything_normalises():
    req = parse_recommend(body(
        segment="vip", k=5,
        anchors={"item_ids": [" a ", "b", "a", ""]},
        candidates={"include_ids": ["X", "x", "X "], "exclude_ids": ["e"]},
        constraints={"required_tags": ["Red", "red"], "forbidden_tags": ["ADULT"],
                     "max_per_tag": {"Category:Shoes": 2}},
        context={"now": "2026-01-27T14:00:00+02:00", "locale": "fi-FI"},
        weights={"pop": 1, "cooc": 0.5},
        options={"include_reasons": True, "explain": "summary", "seed": 7},
        experiment={"id": "exp1"},
    ))
    assert req.anchors == ("a", "b")
    assert req.include_ids == ("X", "x")  # case preserved
    assert req.required_tags == ("red",) and req.forbidden_tags == ("adult",)
    assert req.max_per_tag == (("category:shoes", 2),)
    assert req.context.now == "2026-01-27T12:00:00.000Z"
    assert req.weights is not None and (req.weights.pop, req.weights.cooc, req.weights.emb) == (
        1.0, 0.5, None)
    assert req.experiment_id == "exp1" and req.experiment_variant is None
    assert [(w.code, w.detail) for w in req.warnings] == [
        ("DEFAULT_APPLIED", "anchors.max_anchors defaulted to 50")]
    assert req.to_json()["anchors"] == {"item_ids": ["a", "b"], "max_anchors": 50}


def _many(n: int) -> list[str]:
    return [f"i{x}" for x in range(n)]


INVALID: list[tuple[bytes, int, str, str]] = [
    (b"", 400, "RECSYS_INVALID_REQUEST", "empty"),
    (b"  \n", 400, "RECSYS_INVALID_REQUEST", "empty"),
    (b"{", 400, "RECSYS_INVALID_REQUEST", "malformed JSON"),
    (b'{"surface":"home","user":{"user_id":"u"}} {}', 400, "RECSYS_INVALID_REQUEST",
     "malformed JSON"),
    (b"[]", 400, "RECSYS_INVALID_REQUEST", "must be a JSON object"),
    (body(tenant_id="t1"), 400, "RECSYS_INVALID_REQUEST", "unknown field 'tenant_id'"),
    (body(user={"user_id": "u", "email": "x"}), 400, "RECSYS_INVALID_REQUEST",
     r"unknown field user\.'email'"),
    (body(options={"algorithm": "x"}), 400, "RECSYS_INVALID_REQUEST", r"options\.'algorithm'"),
    (orjson.dumps({"user": {"user_id": "u"}}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "surface is required"),
    (orjson.dumps({"surface": 5, **U}), 400, "RECSYS_INVALID_REQUEST", "surface must be a string"),
    (orjson.dumps({"surface": "a/b", **U}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "safe path segment"),
    (orjson.dumps({"surface": "home"}), 422, "RECSYS_UNPROCESSABLE_ENTITY", "user needs"),
    (orjson.dumps({"surface": "home", "user": {"user_id": "  "}}), 422,
     "RECSYS_UNPROCESSABLE_ENTITY", "user needs"),
    (body(k="5"), 400, "RECSYS_INVALID_REQUEST", "k must be an integer"),
    (body(k=5.5), 400, "RECSYS_INVALID_REQUEST", "k must be an integer"),
    (b'{"surface":"home","user":{"user_id":"\\udacd"}}', 400, "RECSYS_INVALID_REQUEST",
     "malformed JSON"),
    (orjson.dumps({"surface": " home", **U}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "safe path segment"),
    (body(k=True), 400, "RECSYS_INVALID_REQUEST", "k must be an integer"),
    (body(k=0), 422, "RECSYS_UNPROCESSABLE_ENTITY", "between 1 and 200"),
    (body(k=201), 422, "RECSYS_UNPROCESSABLE_ENTITY", "between 1 and 200"),
    (body(segment=3), 400, "RECSYS_INVALID_REQUEST", "segment must be a string"),
    (body(anchors={"item_ids": _many(51)}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     r"anchors\.item_ids has 51 entries; at most 50"),
    (body(anchors={"item_ids": ["a", 1]}), 400, "RECSYS_INVALID_REQUEST",
     r"anchors\.item_ids\[1\] must be a string"),
    (body(anchors={"item_ids": ["a", "b"], "max_anchors": 1}), 422,
     "RECSYS_UNPROCESSABLE_ENTITY", r"max_anchors \(1\) is less than the 2"),
    (body(anchors={"max_anchors": 0}), 422, "RECSYS_UNPROCESSABLE_ENTITY", "between 1 and 50"),
    (body(anchors={"max_anchors": 51}), 422, "RECSYS_UNPROCESSABLE_ENTITY", "between 1 and 50"),
    (b'{"surface":"home","user":{"user_id":"u"},"anchors":{"max_anchors":'
     b'796850378795637849194496}}', 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "must fit in a signed 64-bit"),
    (body(candidates={"include_ids": _many(5001)}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "at most 5000"),
    (body(candidates={"exclude_ids": "a"}), 400, "RECSYS_INVALID_REQUEST", "array of strings"),
    (body(constraints={"required_tags": _many(201)}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "at most 200"),
    (body(constraints={"max_per_tag": {"a": -1}}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "between 0 and"),
    (b'{"surface":"home","user":{"user_id":"u"},"constraints":{"max_per_tag":{"a":1e30}}}',
     422, "RECSYS_UNPROCESSABLE_ENTITY", "between 0 and"),
    (body(constraints={"max_per_tag": {"a": 1.5}}), 400, "RECSYS_INVALID_REQUEST",
     "must be an integer"),
    (body(constraints={"max_per_tag": []}), 400, "RECSYS_INVALID_REQUEST", "object of tag"),
    (body(weights={"pop": -0.1}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     r"weights\.pop must be between 0 and 1e\+06"),
    (body(weights={"emb": 1.7e308}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     r"weights\.emb must be between 0 and 1e\+06"),
    (body(weights={"cooc": "1"}), 400, "RECSYS_INVALID_REQUEST", "must be a number"),
    (body(weights={"alpha": 1}), 400, "RECSYS_INVALID_REQUEST", "unknown field"),
    (body(options={"explain": "verbose"}), 422, "RECSYS_UNPROCESSABLE_ENTITY",
     "none, summary, full"),
    (body(options={"include_reasons": "yes"}), 400, "RECSYS_INVALID_REQUEST", "boolean"),
    (body(options={"seed": 2**63}), 422, "RECSYS_UNPROCESSABLE_ENTITY", "64-bit"),
    (b'{"surface":"home","user":{"user_id":"u"},"options":{"seed":-9223372036854775809}}',
     422, "RECSYS_UNPROCESSABLE_ENTITY", "64-bit"),
    (body(context={"now": "yesterday"}), 422, "RECSYS_UNPROCESSABLE_ENTITY", "RFC 3339"),
    (body(context="x"), 400, "RECSYS_INVALID_REQUEST", "context must be an object"),
    (body(experiment={"id": 1}), 400, "RECSYS_INVALID_REQUEST", "experiment.id must be a string"),
]


@pytest.mark.parametrize(("raw", "status", "code", "message"), INVALID)
def test_invalid_input(raw: bytes, status: int, code: str, message: str) -> None:
    with pytest.raises(ServingError) as info:
        parse_recommend(raw)
    assert (info.value.status, info.value.code) == (status, code)
    assert re.search(message, str(info.value)), str(info.value)


def test_integral_floats_count_as_integers_like_json_schema_says():
    req = parse_recommend(body(k=5.0, options={"seed": 7.0},
                               constraints={"max_per_tag": {"a": 2.0}}))
    assert (req.k, req.seed, req.max_per_tag) == (5, 7, (("a", 2),))


def test_now_is_normalised_to_utc_with_a_four_digit_year():
    req = parse_recommend(body(context={"now": "0274-03-14T13:33:33.69469-07:03"}))
    assert req.context.now == "0274-03-14T20:36:33.694Z"
    assert req.context.now_ms is not None and req.context.now_ms < 0


def test_null_counts_as_absent_and_trimming_follows_json_schema_whitespace():
    req = parse_recommend(body(weights={"pop": 1, "cooc": None}, segment=None, options=None,
                               user={"user_id": "\x1d", "session_id": None}))
    assert req.weights is not None and req.weights.cooc is None
    assert req.user.user_id == "\x1d"  # not whitespace for JSON Schema's \s
    assert req.segment == "default"
    with pytest.raises(ServingError, match="user needs"):
        parse_recommend(body(user={"user_id": "\u00a0\u3000 "}))
