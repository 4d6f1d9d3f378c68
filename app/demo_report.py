"""``recsys demo-report``: dump what flowed through the topics and evaluate it offline.

The exposure, outcome and assignment topics are read from the start to the high-water
marks seen at start (``eval.kafka_source.read_topic``), written as JSONL, and
``recsys-eval run`` is called on those files in offline mode (ranking metrics @10) and
in experiment mode (the demo's A/B test), each as report JSON and self-contained HTML.
The JSONL files stay, so the numbers can be reproduced with ``recsys-eval`` alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from app.settings import Settings
from eval.cli import main as eval_main
from eval.kafka_source import read_topic
from eval.report.html import render_html
from schemas import topics
from schemas.errors import ConfigError

FILES = {
    "exposures": topics.EXPOSURES,
    "outcomes": topics.OUTCOMES,
    "assignments": topics.ASSIGNMENTS,
}
OFFLINE_METRICS = ("precision", "recall", "map", "ndcg", "hitrate", "coverage", "novelty")


def dataset_yaml(out: Path) -> str:
    return "".join(
        f"{name}:\n  type: jsonl\n  path: {out / f'{name}.jsonl'}\n" for name in FILES
    )


def offline_yaml() -> str:
    metrics = "".join(f"    - name: {m}\n      k: 10\n" for m in OFFLINE_METRICS)
    # one slice per arm (requests outside the experiment: experiment_variant=)
    return (
        f"mode: offline\noffline:\n  metrics:\n{metrics}"
        '  slice_keys: ["experiment_variant"]\n'
    )


def experiment_yaml(experiment_id: str) -> str:
    """The offline defaults, which the live view uses too, so the two can be compared.

    The server logs one assignment per user, so the SRM test counts users; its other
    requests take their arm from the exposure context, as in the live join.
    """
    return (
        f'mode: experiment\nexperiment:\n  experiment_id: "{experiment_id}"\n'
        "  context_variant_fallback: true\n"
        "  srm: {enabled: true}\n"
        "  request_ctr: {enabled: true}\n"
    )


async def dump_topics(settings: Settings, bootstrap: str, out: Path) -> dict[str, int]:
    """Write each topic as ``<name>.jsonl`` in ``out``; the number of events per file."""
    counts = {}
    for name, topic in FILES.items():
        records, skipped = await read_topic(bootstrap, topic, settings.schema_registry_url)
        with open(out / f"{name}.jsonl", "wb") as f:
            for _, _, doc in records:
                f.write(orjson.dumps(doc) + b"\n")
        counts[name] = len(records)
        note = f" ({skipped} undecodable skipped)" if skipped else ""
        print(f"demo-report: {len(records):>8,} {name} from {topic}{note}", file=sys.stderr)
    return counts


def evaluate(out: Path, experiment_id: str) -> int:
    """Run recsys-eval offline and experiment mode on the dumped files; its exit code.

    Each mode runs once (JSON); its HTML is rendered from that report, not from a
    second pass over the inputs.
    """
    (out / "dataset.yaml").write_text(dataset_yaml(out))
    (out / "offline.yaml").write_text(offline_yaml())
    (out / "experiment.yaml").write_text(experiment_yaml(experiment_id))
    worst = 0
    for mode in ("offline", "experiment"):
        report = out / f"{mode}.json"
        code = eval_main(
            [
                "run",
                "--dataset",
                str(out / "dataset.yaml"),
                "--config",
                str(out / f"{mode}.yaml"),
                "--output",
                str(report),
            ]
        )
        # experiment mode exits 2/3 for hold/fail decisions: a result, not an error
        if code == 1:
            worst = 1
        if report.exists():
            html = out / f"{mode}.html"
            html.write_text(render_html(orjson.loads(report.read_bytes())), encoding="utf-8")
            print(f"demo-report: {mode} report in {html}", file=sys.stderr)
    return worst


def arm_lines(offline: dict[str, Any], experiment: dict[str, Any]) -> list[str]:
    """Per arm: requests, CTR, the primary p-value and NDCG@10 (from the two reports)."""
    ndcg = {
        key.removeprefix("experiment_variant="): float(row["value"])
        for key, rows in offline.get("offline", {}).get("by_segment", {}).items()
        for row in rows
        if row["name"] == "ndcg@10"
    }
    exp = experiment.get("experiment", {})
    p_values = {
        t["variant"]: float(t["adjusted_p_value"])
        for t in exp.get("significance", [])
        if t.get("primary") and t.get("segment") is None
    }
    lines = []
    for row in exp.get("variants", []):
        variant = row["variant"]
        p = f"  p={p_values[variant]:.2g}" if variant in p_values else ""
        nd = f"  ndcg@10 {ndcg[variant]:.4f}" if variant in ndcg else ""
        lines.append(f"{variant}: {row['exposures']:,} requests  ctr {row['ctr']:.4f}{p}{nd}")
    srm = (exp.get("srm") or {}).get("global") or {}
    if srm:
        state = "DETECTED" if srm.get("detected") else "not detected"
        lines.append(f"SRM {state} (p={float(srm.get('p_value', 1.0)):.3g})")
    return lines


async def demo_report(settings: Settings, bootstrap: str, output: str, experiment_id: str) -> int:
    out = Path(output).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {output}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output {output}: cannot create it: {exc.strerror}") from exc
    counts = await dump_topics(settings, bootstrap, out)
    if counts["exposures"] == 0:
        print("demo-report: no exposures on the topic; nothing to evaluate", file=sys.stderr)
        return 1
    code = evaluate(out, experiment_id)
    reports = [out / "offline.json", out / "experiment.json"]
    if all(r.exists() for r in reports):
        offline, experiment = (orjson.loads(r.read_bytes()) for r in reports)
        if not (experiment.get("experiment") or {}).get("variants"):
            print(f"demo-report: experiment {experiment_id!r} has no assigned exposures in "
                  "these topics (check --experiment-id)", file=sys.stderr)
            return 1
        for line in arm_lines(offline, experiment):
            print(f"demo-report: {line}")
    return code
