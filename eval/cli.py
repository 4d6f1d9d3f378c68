"""``recsys-eval``: thin CLI (parse → load → run the pure core → render → write).

Exit codes (as the original): 0 success or experiment decision ``ship``; 1 any
error, including failed offline regression gates; 2 decision ``hold``; 3 decision
``fail``.

Reproducible runs (golden tests): ``--fixed-clock RFC3339`` pins ``created_at`` and
the run_id; ``--fixed-metadata JSON`` overrides any of ``binary_version``,
``git_commit``, ``effective_config``, ``input_dataset_fingerprint`` and ``version``.
The environment variables ``RECSYS_EVAL_FIXED_CLOCK`` and
``RECSYS_EVAL_FIXED_METADATA`` do the same. These options are hidden from --help.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import orjson
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from eval import REPORT_VERSION
from eval.baseline import Baseline, GateResult, baseline_from_report, gate_failure_reason
from eval.config import EvalConfig
from eval.config_normalize import load_config
from eval.fingerprint import dataset_fingerprint
from eval.jsontext import unicode_problem
from eval.modes import MODE_RUNNERS
from eval.modes.context import RunContext
from eval.progress import ProgressBar
from eval.provenance import artifacts_provenance
from eval.report.envelope import RunMetadata, to_json
from eval.report.html import render_html
from eval.report.markdown import render_markdown
from eval.report.redaction import mask_credentials
from eval.sources import DatasetConfig, load_dataset
from eval.timeparse import parse_rfc3339
from schemas.errors import ConfigError, InputError, RecsysError
from schemas.validation import SCHEMA_NAMES, load_schema, schema_errors

NO_CASES_WARNING = "no_cases_evaluated"
FIXED_CLOCK_ENV = "RECSYS_EVAL_FIXED_CLOCK"
FIXED_METADATA_ENV = "RECSYS_EVAL_FIXED_METADATA"
RENDERERS = {
    "json": to_json,
    "markdown": render_markdown,
    "md": render_markdown,
    "html": render_html,
}


class _UsageError(Exception):
    """argparse wants to exit 2, which means "hold" here; usage errors exit 1 instead."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message}")


def _package_version() -> str:
    try:
        return metadata.version("recsys-stream")
    except metadata.PackageNotFoundError:
        return REPORT_VERSION


def _version_line() -> str:
    return f"recsys-eval {_package_version()} (report version {REPORT_VERSION})"


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree: run, validate, version."""
    parser = _Parser(
        prog="recsys-eval",
        description="Offline evaluation of recommender logs: ranking metrics, A/B statistics, "
        "off-policy estimates and interleaving, with reports identical to the original Go tool.",
        epilog="Exit codes: 0 ok / ship, 1 error or failed gate, 2 hold, 3 fail.",
    )
    parser.add_argument("--version", action="version", version=_version_line())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="evaluate a dataset and write a report",
        description="Read the dataset YAML and eval config YAML (both strict), run the mode "
        "and write the report. Offline gate failures still write the report, then exit 1.",
    )
    run.add_argument("--dataset", required=True, help="dataset YAML (sources of the inputs)")
    run.add_argument("--config", required=True, help="eval config YAML")
    run.add_argument("--output", required=True, help="report file to write")
    run.add_argument("--mode", choices=sorted(MODE_RUNNERS), help="override mode: in the config")
    run.add_argument("--baseline", help="previous offline report.json to compare and gate against")
    run.add_argument("--experiment-id", help="override experiment.experiment_id")
    run.add_argument(
        "--output-format",
        default="json",
        choices=sorted(RENDERERS),
        help="report format (default json; html is self-contained, no network)",
    )
    run.add_argument("--fixed-clock", help=argparse.SUPPRESS)
    run.add_argument("--fixed-metadata", help=argparse.SUPPRESS)
    validate = sub.add_parser(
        "validate",
        help="validate a JSONL file against a JSON Schema",
        description="Validate every line (format assertion on). A bare name such as "
        f"exposure.v1 uses the packaged schema ({', '.join(SCHEMA_NAMES)}); a path to a "
        "schema .json file also works. Exit 1 if any line is invalid.",
    )
    validate.add_argument("--schema", required=True, help="schema name or path to a .json schema")
    validate.add_argument("--input", required=True, help="JSONL file to validate")
    sub.add_parser("version", help="print the version")
    return parser


def _fixed(value: str | None, env: Mapping[str, str], key: str) -> str | None:
    return value if value is not None else env.get(key)


def _metadata(
    args: argparse.Namespace,
    env: Mapping[str, str],
    mode: str,
    dataset: DatasetConfig,
    config: EvalConfig,
) -> RunMetadata:
    clock = _fixed(args.fixed_clock, env, FIXED_CLOCK_ENV)
    try:
        created = parse_rfc3339(clock) if clock else datetime.now(UTC).replace(microsecond=0)
    except ValueError as exc:
        raise ConfigError(f"--fixed-clock: {exc}") from None
    fixed_text = _fixed(args.fixed_metadata, env, FIXED_METADATA_ENV)
    fixed: dict[str, Any] = {}
    if fixed_text:
        try:
            fixed = json.loads(fixed_text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--fixed-metadata is not JSON: {exc}") from None
        unknown = set(fixed) - {f.name for f in dataclasses.fields(RunMetadata)}
        if not isinstance(fixed, dict) or unknown or "created_at" in fixed:
            raise ConfigError(f"--fixed-metadata has unknown keys: {sorted(unknown)}")
    defaults: dict[str, Any] = {
        "binary_version": _package_version(),
        "git_commit": "unknown",
        "effective_config": mask_credentials(
            {
                "mode": mode,
                "dataset": dataclasses.asdict(dataset),
                "eval": dataclasses.asdict(config),
            }
        ),
        "version": REPORT_VERSION,
    }
    if "input_dataset_fingerprint" not in fixed:
        defaults["input_dataset_fingerprint"] = dataset_fingerprint(mode, dataset)
    return RunMetadata(created_at=created, **{**defaults, **fixed})


def _load_baseline(path: str | None) -> Baseline | None:
    if path is None:
        return None
    try:
        document = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read baseline: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: baseline is not JSON: {exc}") from exc
    return baseline_from_report(document, path)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _attach_provenance(report: dict[str, Any], manifest_uri: str) -> None:
    artifacts, warnings = artifacts_provenance(manifest_uri)
    if artifacts:
        report["artifacts"] = artifacts
    if warnings:
        report["warnings"] = [*report.get("warnings", []), *warnings]


def cmd_run(args: argparse.Namespace, env: Mapping[str, str], progress: ProgressBar) -> int:
    """``recsys-eval run``."""
    config = load_config(Path(args.config), mode_override=args.mode)
    dataset = load_dataset(Path(args.dataset))
    baseline = _load_baseline(args.baseline)
    ctx = RunContext(
        dataset=dataset,
        config=config,
        meta=_metadata(args, env, config.mode, dataset, config),
        output=args.output,
        baseline=baseline,
        experiment_id=args.experiment_id,
        progress=progress,
    )
    result = MODE_RUNNERS[config.mode](ctx)
    if result.report["summary"]["cases_evaluated"] == 0:
        # every number is then a 0 that means nothing: say so in the report and on stderr
        result.report["warnings"] = [*result.report.get("warnings", []), NO_CASES_WARNING]
        print(
            "recsys-eval: warning: no cases were evaluated (empty inputs, or nothing "
            "joined or fell in the time window); every metric reads 0",
            file=sys.stderr,
        )
    if config.artifacts.manifest_uri:
        _attach_provenance(result.report, config.artifacts.manifest_uri)
    _write(Path(args.output), RENDERERS[args.output_format](result.report))
    if config.mode == "offline" and config.offline.history_dir:
        history = Path(config.offline.history_dir) / f"{result.report['run_id']}.json"
        _write(history, to_json(result.report))
    for extra_path, document in result.extra_files.items():
        _write(Path(extra_path), to_json(document))
    if config.mode == "offline" and result.exit_code == 1:
        computed = [m["name"] for m in result.report["offline"]["metrics"]]
        failed = [
            gate_failure_reason(GateResult(**g), computed, baseline)
            for g in result.report.get("gates", [])
            if not g["passed"]
        ]
        print(f"recsys-eval: regression gates failed: {'; '.join(failed)}", file=sys.stderr)
    return result.exit_code


def _schema_reasons(schema: str, document: Any) -> list[str]:
    """``schema_errors``, with a reference the schema cannot resolve as a ConfigError."""
    try:
        return schema_errors(schema, document)
    except Unresolvable as exc:
        raise ConfigError(f"schema {schema!r}: cannot resolve $ref {exc.ref!r}") from None


def _check_schema(schema: str) -> None:
    """Fail early, on one line, for an unknown name or a document that is no JSON Schema."""
    try:
        Draft7Validator.check_schema(load_schema(schema))
    except SchemaError as exc:
        raise ConfigError(
            f"schema {schema!r} is not a valid JSON Schema (draft-07): {exc.json_path}: "
            f"{exc.message}"
        ) from None
    _schema_reasons(schema, {})  # a $ref at the top is resolved now, not on line 1


def cmd_validate(args: argparse.Namespace, progress: ProgressBar) -> int:
    """``recsys-eval validate``: every invalid line with its number and reason.

    Shows the same progress as ``run`` past 100,000 lines (``eval.progress``).
    """
    path = Path(args.input)
    _check_schema(args.schema)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    invalid = checked = done = number = 0
    total = os.fstat(handle.fileno()).st_size
    with handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            progress.update(path.name, number, done, total)
            if not raw.strip():
                continue
            checked += 1
            try:
                reasons = _schema_reasons(args.schema, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                # orjson calls any bad byte "surrogates not allowed": name the real fault
                reasons = [unicode_problem(raw) or f"invalid JSON: {exc}"]
            if reasons:
                invalid += 1
                progress.end_line()
                for reason in reasons:
                    print(f"{path}:{number}: {reason}", file=sys.stderr)
    progress.finish(path.name, number, total)
    if invalid:
        print(f"recsys-eval: validation failed for {invalid} line(s)", file=sys.stderr)
        return 1
    print(f"{path}: {checked} line(s) valid against {args.schema}")
    return 0


def execute(
    argv: Sequence[str], env: Mapping[str, str], progress: ProgressBar | None = None
) -> int:
    """Parse and run one command; RecsysError propagates (``main`` turns it into exit 1)."""
    args = build_parser().parse_args(argv)
    bar = ProgressBar(sys.stderr) if progress is None else progress
    if args.command == "run":
        return cmd_run(args, env, bar)
    if args.command == "validate":
        return cmd_validate(args, bar)
    print(_version_line())
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``recsys-eval`` console script; returns the exit code."""
    progress = ProgressBar(sys.stderr)
    try:
        return execute(
            sys.argv[1:] if argv is None else argv, os.environ if env is None else env, progress
        )
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 1
    except RecsysError as exc:
        progress.end_line()  # an error met mid-read starts on its own line
        print(f"recsys-eval: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
