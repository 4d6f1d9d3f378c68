"""Report JSON written as Go's json.MarshalIndent writes it (expected texts written by hand)."""

from __future__ import annotations

import math

import pytest

from eval.report.envelope import to_json
from eval.report.gojson import go_float, go_string, marshal_indent

# Go: strconv.AppendFloat(x, 'f' or 'e', -1, 64), 'e' iff x != 0 and (|x| < 1e-6 or
# |x| >= 1e21), then "e-0d" cleaned to "e-d".
FLOATS = [
    (2.3148148148148147e-05, "0.000023148148148148147"),  # Python repr: 2.3148148148148147e-05
    (1e-05, "0.00001"),
    (1e-06, "0.000001"),  # the boundary is inclusive: still 'f'
    (9.99e-07, "9.99e-7"),
    (1e-07, "1e-7"),
    (-2.5e-10, "-2.5e-10"),  # two-digit exponents keep both digits
    (1e-100, "1e-100"),
    (5e-324, "5e-324"),
    (1.5e300, "1.5e+300"),
    (1e21, "1e+21"),  # the upper boundary is exclusive: 'e', and e+21 is not cleaned
    (1e20, "100000000000000000000"),
    # an integral float above 2^53: Go writes the shortest digits, then zeros
    # (int(x) would print the exact binary value 123456789012345677824)
    (1.2345678901234568e20, "123456789012345680000"),
    (0.1, "0.1"),
    (0.16666666666666666, "0.16666666666666666"),
    (2.0, "2"),
    (-7.0, "-7"),
    (0.0, "0"),
    (-0.0, "-0"),
]


@pytest.mark.parametrize(("value", "expected"), FLOATS)
def test_floats_as_go_writes_them(value: float, expected: str) -> None:
    assert go_float(value) == expected


STRINGS = [
    ("plain", '"plain"'),
    ('say "hi"\\', '"say \\"hi\\"\\\\"'),
    ("<b>&</b>", '"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"'),
    ("\n\r\t\b\f", '"\\n\\r\\t\\b\\f"'),
    ("\x00\x1f\x7f", '"\\u0000\\u001f\x7f"'),  # DEL is not escaped
    ("a\u2028b\u2029c", '"a\\u2028b\\u2029c"'),
    ("café ✓ 😀", '"café ✓ 😀"'),  # non-ASCII stays UTF-8
    ("x\ud800y", '"x\\ufffdy"'),  # a lone surrogate: Go writes invalid UTF-8 as \ufffd
]


@pytest.mark.parametrize(("text", "expected"), STRINGS)
def test_strings_as_go_writes_them(text: str, expected: str) -> None:
    assert go_string(text) == expected


def test_layout_is_two_space_indent_in_key_order() -> None:
    document = {
        "b": 1,
        "a": [0.5, 2.3148148148148147e-05, True, None],
        "empty": {},
        "none": [],
        "nested": {"x": "<"},
    }
    expected = (
        "{\n"
        '  "b": 1,\n'
        '  "a": [\n'
        "    0.5,\n"
        "    0.000023148148148148147,\n"
        "    true,\n"
        "    null\n"
        "  ],\n"
        '  "empty": {},\n'
        '  "none": [],\n'
        '  "nested": {\n'
        '    "x": "\\u003c"\n'
        "  }\n"
        "}"
    )
    assert marshal_indent(document) == expected
    assert to_json(document) == expected + "\n"


def test_non_finite_floats_are_null() -> None:
    assert to_json([math.nan, math.inf]) == "[\n  null,\n  null\n]\n"
