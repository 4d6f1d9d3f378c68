"""recsys-eval offline on a large synthetic log, against a plain orjson parse of it.

    .venv/bin/python bench/eval_offline.py [--exposures 1000000] [--outcomes 300000]

Generates exposures (10 items each, 5 context keys) and outcomes as JSONL in a temp
folder, then in the same run: (1) parses both files with orjson line by line (the
floor), (2) runs `recsys-eval run` in offline mode with the 8 default metrics @10 and
5 slice keys in a child process. Prints seconds, peak RSS of the evaluator and the
ratio to the parse. Targets: ≤ 3× the parse time, peak RSS ≤ 2 GiB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

METRICS = ("precision", "recall", "map", "ndcg", "hitrate", "coverage", "novelty", "diversity")
SLICES = ("tenant", "surface", "locale", "device", "user_type")
CONFIG = (
    "mode: offline\noffline:\n  metrics:\n"
    + "".join(f"    - {{name: {m}, k: 10}}\n" for m in METRICS)
    + f"  slice_keys: [{', '.join(SLICES)}]\n"
)


def generate(folder: Path, exposures: int, outcomes: int, seed: int = 3) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    catalog = 50_000
    exp_path, out_path = folder / "exposures.jsonl", folder / "outcomes.jsonl"
    base = 1_735_689_600  # 2025-01-01T00:00:00Z
    ctx_values = {
        "tenant": ["t1", "t2", "t3"],
        "surface": ["home", "pdp", "cart", "search"],
        "locale": ["en-US", "de-DE", "fi-FI"],
        "device": ["ios", "android", "web"],
        "user_type": ["new", "returning"],
    }
    with exp_path.open("wb") as fh:
        chunk = 10_000
        for start in range(0, exposures, chunk):
            n = min(chunk, exposures - start)
            items = rng.integers(0, catalog, size=(n, 10))
            picks = {k: rng.integers(0, len(v), size=n) for k, v in ctx_values.items()}
            lines = []
            for r in range(n):
                rid = start + r
                lines.append(
                    orjson.dumps(
                        {
                            "request_id": f"r{rid}",
                            "user_id": f"u{rid % 200_000}",
                            "ts": time.strftime(
                                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + rid % 2_000_000)
                            ),
                            "items": [
                                {"item_id": f"i{int(i)}", "rank": k + 1}
                                for k, i in enumerate(items[r])
                            ],
                            "context": {k: ctx_values[k][int(picks[k][r])] for k in ctx_values},
                        }
                    )
                )
            fh.write(b"\n".join(lines) + b"\n")
    with out_path.open("wb") as fh:
        reqs = rng.integers(0, exposures, size=outcomes)
        lines = []
        for n, rid in enumerate(reqs):
            lines.append(
                orjson.dumps(
                    {
                        "request_id": f"r{int(rid)}",
                        "user_id": f"u{int(rid) % 200_000}",
                        "item_id": f"i{int(rng.integers(0, catalog))}",
                        "event_type": "click" if n % 5 else "conversion",
                        "ts": time.strftime(
                            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + int(rid) % 2_000_000 + 5)
                        ),
                    }
                )
            )
        fh.write(b"\n".join(lines) + b"\n")
    return exp_path, out_path


def parse_seconds(paths: tuple[Path, ...]) -> float:
    start = time.perf_counter()
    for path in paths:
        with path.open("rb") as fh:
            for line in fh:
                orjson.loads(line)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposures", type=int, default=1_000_000)
    parser.add_argument("--outcomes", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        exp_path, out_path = generate(folder, args.exposures, args.outcomes)
        size = (exp_path.stat().st_size + out_path.stat().st_size) / 2**20
        print(
            f"generated {args.exposures:,} exposures × 10 items and {args.outcomes:,} outcomes "
            f"({size:,.0f} MiB) in {time.perf_counter() - t:.1f}s"
        )
        parse = parse_seconds((exp_path, out_path))
        print(f"(1) orjson parse of both files : {parse:8.1f} s")
        (folder / "dataset.yaml").write_text(
            f"exposures: {{type: jsonl, path: '{exp_path}'}}\n"
            f"outcomes: {{type: jsonl, path: '{out_path}'}}\n"
        )
        (folder / "config.yaml").write_text(CONFIG)
        cmd = [
            sys.executable,
            "-m",
            "eval.cli",
            "run",
            "--dataset",
            str(folder / "dataset.yaml"),
            "--config",
            str(folder / "config.yaml"),
            "--output",
            str(folder / "report.json"),
        ]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - our own CLI
        run = time.perf_counter() - t
        if done.returncode != 0:
            print(done.stderr[-2000:])
            raise SystemExit(f"recsys-eval exited {done.returncode}")
        rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = orjson.loads((folder / "report.json").read_bytes())
        print(
            f"(2) recsys-eval offline         : {run:8.1f} s, peak RSS {rss_mib:,.0f} MiB, "
            f"{report['summary']['cases_evaluated']:,} cases"
        )
        print(f"ratio (2)/(1): {run / parse:.2f}x (target ≤ 3x); peak RSS target ≤ 2048 MiB")


if __name__ == "__main__":
    main()
