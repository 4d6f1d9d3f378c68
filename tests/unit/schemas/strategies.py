"""Hypothesis strategies for valid JSON documents of every contract, and shared paths."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

# The repo is cloned as <dir>/main with <dir>/shared beside it.
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
TINY = SHARED / "data" / "recsys-eval" / "testdata" / "datasets" / "tiny"

TINY_FILES: dict[str, str] = {
    "exposures.jsonl": "exposure.v1",
    "outcomes.jsonl": "outcome.v1",
    "outcomes_interleaving.jsonl": "outcome.v1",
    "assignments.jsonl": "assignment.v1",
    "ranker_a.jsonl": "ranklist.v1",
    "ranker_b.jsonl": "ranklist.v1",
}

PROPERTY = settings(max_examples=300, deadline=None, database=None, derandomize=True)
"""Seeded (derandomized) and without an example database, so tests never write into the repo."""
QUICK = settings(deadline=None, database=None, derandomize=True)

ids = st.text(min_size=1, max_size=12)
labels = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)
# JSON numbers as producers write them: small integers or finite floats.
exact_ints = st.integers(min_value=0, max_value=2**53 - 1)
nonneg = st.one_of(exact_ints, st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
any_number = st.one_of(
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """Valid RFC 3339 strings in the shapes producers write: Z or offset, 0–9 fraction digits."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    digits = draw(st.integers(min_value=0, max_value=9))
    if digits:
        text += "." + "".join(
            draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))
        )
    minutes = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
    if minutes == 0 and draw(st.booleans()):
        return text + "Z"
    sign = "+" if minutes >= 0 else "-"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _optional(
    doc: dict[str, Any], draw: st.DrawFn, key: str, strategy: st.SearchStrategy[Any]
) -> None:
    if draw(st.booleans()):
        doc[key] = draw(strategy)


@st.composite
def exposure_docs(draw: st.DrawFn) -> dict[str, Any]:
    items = []
    for rank in draw(st.lists(st.integers(min_value=1, max_value=10**6), max_size=6)):
        item: dict[str, Any] = {"item_id": draw(ids), "rank": rank}
        for key in ("propensity", "logging_propensity", "target_propensity"):
            _optional(item, draw, key, nonneg)
        items.append(item)
    doc: dict[str, Any] = {
        "request_id": draw(ids),
        "user_id": draw(ids),
        "ts": draw(rfc3339()),
        "items": items,
    }
    _optional(doc, draw, "context", labels)
    _optional(doc, draw, "latency_ms", nonneg)
    _optional(doc, draw, "error", st.booleans())
    return doc


@st.composite
def outcome_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "request_id": draw(ids),
        "user_id": draw(ids),
        "item_id": draw(ids),
        "event_type": draw(st.sampled_from(["click", "conversion"])),
    }
    _optional(doc, draw, "value", any_number)
    doc["ts"] = draw(rfc3339())
    return doc


@st.composite
def assignment_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "experiment_id": draw(ids),
        "variant": draw(ids),
        "request_id": draw(ids),
        "user_id": draw(ids),
        "ts": draw(rfc3339()),
    }
    _optional(doc, draw, "context", labels)
    return doc


@st.composite
def ranklist_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "request_id": draw(ids),
        "user_id": draw(ids),
        "ts": draw(rfc3339()),
        "items": draw(st.lists(ids, max_size=6)),
    }
    _optional(doc, draw, "context", labels)
    return doc


@st.composite
def item_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"item_id": draw(ids), "tenant": draw(ids)}
    _optional(doc, draw, "namespace", ids)
    doc["tags"] = draw(st.lists(ids, max_size=5))
    _optional(doc, draw, "price", nonneg)
    _optional(doc, draw, "created_at", rfc3339())
    doc["available"] = draw(st.booleans())
    return doc


DOCS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "exposure.v1": exposure_docs(),
    "outcome.v1": outcome_docs(),
    "assignment.v1": assignment_docs(),
    "ranklist.v1": ranklist_docs(),
    "item.v1": item_docs(),
}

any_doc = st.one_of(*(st.tuples(st.just(name), strategy) for name, strategy in DOCS.items()))
"""(schema name, valid document) pairs."""
