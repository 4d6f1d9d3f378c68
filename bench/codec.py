"""Avro (Confluent-framed) encode+decode of one exposure with 10 items, next to orjson.

    .venv/bin/python bench/codec.py [--n 20000]

Prints µs per event for each codec and the Avro/orjson ratio, measured in the same run.
``decode`` includes the contract checks the stream decode stage runs on every record.
Then the decode of an exposure, an outcome and an assignment through the generated
decoders (``AvroCodec.decode``) next to the generic path (``AvroCodec.decode_generic``).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import orjson

from schemas.codec import AvroCodec
from schemas.events import Assignment, Event, Exposure, ExposureItem, Outcome


def sample_exposure() -> Exposure:
    items = tuple(
        ExposureItem(f"item-{i:05d}", i + 1, logging_propensity=0.1 * (i + 1) / 10)
        for i in range(10)
    )
    ctx = {"tenant": "t1", "surface": "home", "segment": "default", "algo_version": "blend_v1"}
    return Exposure("req-0001", "u-42", "2026-11-23T10:00:00Z", items, ctx, 12.5, False)


def sample_outcome() -> Outcome:
    return Outcome("req-0001", "u-42", "item-00003", "click", "2026-11-23T10:00:05.123Z", 1.0)


def sample_assignment() -> Assignment:
    ctx = {"tenant": "t1", "surface": "home"}
    return Assignment("exp-7", "B", "req-0001", "u-42", "2026-11-23T10:00:00Z", ctx)


def per_call_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(n // 10, 1000)):
        fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="iterations per measurement")
    args = parser.parse_args()
    codec = AvroCodec()
    event = sample_exposure()
    avro_bytes = codec.encode(event)
    doc = event.to_json()
    json_bytes = orjson.dumps(doc)
    assert codec.decode(avro_bytes, "exposure.v1") == event

    avro_enc = per_call_us(lambda: codec.encode(event), args.n)
    avro_dec = per_call_us(lambda: codec.decode(avro_bytes, "exposure.v1"), args.n)
    js_enc = per_call_us(lambda: orjson.dumps(event.to_json()), args.n)
    js_dec = per_call_us(lambda: Exposure.from_json(orjson.loads(json_bytes)), args.n)
    raw_js = per_call_us(lambda: orjson.loads(orjson.dumps(doc)), args.n)

    print(f"exposure with 10 items: avro {len(avro_bytes)} bytes, json {len(json_bytes)} bytes")
    print(f"{'codec':<34}{'encode µs':>11}{'decode µs':>11}{'total µs':>10}")
    print(
        f"{'avro+framing (+contract check)':<34}{avro_enc:>11.2f}{avro_dec:>11.2f}"
        f"{avro_enc + avro_dec:>10.2f}"
    )
    print(
        f"{'orjson (+typed event, validated)':<34}{js_enc:>11.2f}{js_dec:>11.2f}"
        f"{js_enc + js_dec:>10.2f}"
    )
    print(f"{'orjson raw dict round trip':<34}{'':>11}{'':>11}{raw_js:>10.2f}")
    print(
        f"ratio avro/orjson(typed) total: {(avro_enc + avro_dec) / (js_enc + js_dec):.2f}x; "
        f"avro/orjson(raw): {(avro_enc + avro_dec) / raw_js:.2f}x"
    )
    print()
    decode_paths(codec, args.n)


def decode_paths(codec: AvroCodec, n: int) -> None:
    """Generated decoder against the generic path, same records, same run."""
    samples: list[tuple[str, Event]] = [
        ("exposure (10 items)", sample_exposure()),
        ("outcome", sample_outcome()),
        ("assignment", sample_assignment()),
    ]
    print(f"{'decode (+contract check)':<34}{'generated µs':>13}{'generic µs':>12}{'ratio':>8}")
    for label, event in samples:
        data, name = codec.encode(event), event.SCHEMA
        assert codec.decode(data, name) == codec.decode_generic(data, name) == event
        fast = per_call_us(functools.partial(codec.decode, data, name), n)
        generic = per_call_us(functools.partial(codec.decode_generic, data, name), n)
        print(f"{label:<34}{fast:>13.2f}{generic:>12.2f}{generic / fast:>7.1f}x")


if __name__ == "__main__":
    main()
