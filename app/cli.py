"""The ``recsys`` command: parse arguments, load settings, call the core, render."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence

from app.settings import MAX_PORT, Settings, load_settings
from schemas.errors import RecsysError
from serving.auth import ROLES

DESCRIPTION = """\
RecSys Stream: a streaming recommender on Kafka.

  recsys up                      embedded broker + stream worker + HTTP server
  recsys up --demo [--rate N] [--seed S]
                                 the same, plus simulated users in an A/B test
  recsys demo-report --output DIR
                                 dump the event topics and evaluate them offline
  recsys produce --topic exposures FILE.jsonl
                                 validate a JSONL file and publish it as Avro
  recsys replay --exposures F --outcomes F [--rate N]
                                 merge files by timestamp and publish them
  recsys worker                  only a stream worker (scale out with more)
  recsys serve                   one serving replica with the full API
  recsys dead-letters [--limit N] list what the workers dead-lettered, and why
  recsys keys create --tenant T --role viewer
                                 create an API key (also: keys list, keys revoke ID)
  recsys settings                print the effective settings (secrets masked)

Settings come from RECSYS_* environment variables (see `recsys settings`);
command-line flags override them.
"""


FILE_ERRORS: dict[type[OSError], str] = {
    FileNotFoundError: "no such file",
    IsADirectoryError: "is a directory, not a file",
    PermissionError: "permission denied",
}


def _int_in(low: int, high: int | None, what: str, hint: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``, else a message saying so."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is not {what}: use {bound}{hint}")
        return value

    return parse


def _positive_rate(raw: str) -> float:
    """An argparse type: events per second, a finite number > 0."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(
            f"{raw} is not a rate: give events per second > 0 (omit it: as fast as possible)"
        )
    return value


HTTP_PORT = _int_in(0, MAX_PORT, "a port", " (0: any free port)")
KAFKA_PORT = _int_in(1, MAX_PORT, "a port")
PARTITIONS = _int_in(1, None, "a partition count")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="run the broker (embedded unless RECSYS_KAFKA_BOOTSTRAP is set), worker and server",
        description=(
            "Start everything in one process. Without RECSYS_KAFKA_BOOTSTRAP an embedded "
            "Kafka-compatible broker (memory only) is started on 127.0.0.1:<kafka-port>. "
            "Ctrl-C or SIGTERM stops everything within 10 s."
        ),
    )
    up.add_argument("--port", type=HTTP_PORT, help="HTTP port (env RECSYS_HTTP_PORT, default 8080)")
    up.add_argument(
        "--kafka-port",
        type=KAFKA_PORT,
        help="embedded broker port (env RECSYS_KAFKA_PORT, default 9092)",
    )
    up.add_argument("--partitions", type=PARTITIONS, help="partitions per event topic (default 8)")
    up.add_argument(
        "--demo",
        action="store_true",
        help="also run simulated users who request, click and convert (arms A/B); "
        "prints a live summary every few seconds and the dashboard URL",
    )
    up.add_argument("--rate", type=float, default=20.0, help="demo requests/s (default 20)")
    up.add_argument("--seed", type=int, default=7, help="demo seed (default 7)")
    up.add_argument(
        "--duration",
        type=float,
        help="demo: stop the simulated traffic after this many seconds (default: never)",
    )

    report = sub.add_parser(
        "demo-report",
        help="dump the exposure/outcome/assignment topics to JSONL and evaluate them",
        description=(
            "Reads the event topics from the start to their high-water marks, writes them "
            "as JSONL into DIR, and runs recsys-eval in offline and experiment mode on "
            "them, writing JSON and self-contained HTML reports beside them."
        ),
    )
    report.add_argument("--output", required=True, help="directory to write into")
    report.add_argument("--bootstrap", help="Kafka bootstrap (default: the settings')")
    report.add_argument(
        "--experiment-id", default="demo-covis", help="experiment to analyse (default demo-covis)"
    )

    produce = sub.add_parser(
        "produce",
        help="validate a JSONL file and publish its events as Avro",
        description=(
            "Each line is validated against the topic's schema; valid lines are Avro-encoded "
            "(Confluent framing) and sent keyed by request_id (item_id for items). Invalid "
            "lines are reported with their line numbers and not sent. Exit 1 if any line "
            "was rejected or not delivered."
        ),
    )
    produce.add_argument(
        "--topic", required=True, choices=["exposures", "outcomes", "assignments", "items"]
    )
    produce.add_argument("file", help="JSONL file, one event per line")
    produce.add_argument("--bootstrap", help="bootstrap servers (default: the configured broker)")
    produce.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: on for files over 100k lines)",
    )

    replay = sub.add_parser(
        "replay",
        help="merge event files by timestamp and produce them (optionally paced)",
        description=(
            "Read the given JSONL files, validate every line (invalid lines are reported, not "
            "sent), merge them by event timestamp (catalog items first) and produce them to "
            "their topics as Avro. --rate paces the replay in events per second."
        ),
    )
    replay.add_argument("--exposures", help="exposure.v1 JSONL")
    replay.add_argument("--outcomes", help="outcome.v1 JSONL")
    replay.add_argument("--assignments", help="assignment.v1 JSONL")
    replay.add_argument("--items", help="item.v1 JSONL")
    replay.add_argument(
        "--rate", type=_positive_rate, help="events per second (default: as fast as possible)"
    )
    replay.add_argument("--bootstrap", help="bootstrap servers (default: the configured broker)")

    worker = sub.add_parser(
        "worker",
        help="run only a stream worker (join more workers to scale out)",
        description=(
            "Run one Faust stream worker against RECSYS_KAFKA_BOOTSTRAP (creating missing "
            "topics). Workers with the same RECSYS_APP_ID share the partitions."
        ),
    )
    worker.add_argument("--partitions", type=PARTITIONS, help="partitions per topic (default 8)")

    serve = sub.add_parser(
        "serve",
        help="run one serving replica with the full API (reads the published views)",
        description=(
            "Serve POST /v1/recommend, /v1/recommend/validate, /v1/similar, the admin API, "
            "/metrics and /openapi.json from the views the workers publish to Kafka "
            "(RECSYS_KAFKA_BOOTSTRAP). Start as many replicas as you like."
        ),
    )
    serve.add_argument(
        "--port", type=HTTP_PORT, help="HTTP port (env RECSYS_HTTP_PORT, default 8080)"
    )

    dlq = sub.add_parser(
        "dead-letters",
        help="list what the workers dead-lettered, and why",
        description=(
            "Reads recsys.deadletter.v1 to its end and prints one JSON line per record "
            "(source topic, partition, offset, schema, reason, key, value: text when it is "
            "UTF-8, else value_base64), oldest first, then a count per topic and reason "
            "on stderr. Records are never removed: the topic's retention does that."
        ),
    )
    dlq.add_argument("--bootstrap", help="Kafka bootstrap (default: the settings')")
    dlq.add_argument("--limit", type=_int_in(1, None, "a record count"),
                     help="only the newest N records")

    _keys_parser(sub)
    sub.add_parser("settings", help="print the effective settings, secrets masked")
    return parser


KEYS_DESCRIPTION = """\
API keys of `recsys serve` and `recsys up`. The key file (RECSYS_API_KEYS_FILE, or
--file) is a JSON array of records {key_id, key_hash, tenant, roles, expires_at_ms,
revoked}: each key is stored as its HMAC-SHA256 under RECSYS_API_KEY_SECRET, never
as the key. Servers started with the file require X-API-Key on every /v1/ request
and re-read the file within about 5 s of a change, so keys created or revoked here
take effect without a restart.

  recsys keys create --tenant t1 --role viewer       print a new key once
  recsys keys list                                    key ids, tenants, roles, expiry
  recsys keys revoke KEY_ID                           the key stops working
"""


def _keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser(
        "keys",
        help="create, list and revoke API keys (RECSYS_API_KEYS_FILE)",
        description=KEYS_DESCRIPTION,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    keys.set_defaults(keys_help=keys.format_help)
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    file_help = "the key file (default: RECSYS_API_KEYS_FILE)"
    create = keys_sub.add_parser(
        "create",
        help="create a key for a tenant and print it once",
        description=(
            "Generate a random key, append its hashed record to the key file (created if "
            "missing, mode 0600) and print the key on stdout, once: it is not stored "
            "anywhere, so keep it now. Needs RECSYS_API_KEY_SECRET, the same secret the "
            "servers use."
        ),
    )
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        choices=ROLES,
        help="viewer: recommend, read config, rules, audit and live metrics; operator: "
        "also change config and rules; admin: also explain=full; repeat for several",
    )
    create.add_argument(
        "--key-id", metavar="ID", help="name of the key, 1-128 of [A-Za-z0-9._~-] "
        "(default: key-<8 random hex digits>)"
    )
    create.add_argument(
        "--expires-in-days",
        type=float,
        metavar="N",
        help="the key stops working after N days (default: never)",
    )
    create.add_argument("--file", metavar="PATH", help=file_help)
    listing = keys_sub.add_parser(
        "list",
        help="list the keys: key_id, tenant, roles, expiry, revoked",
        description="List the stored keys (never their hashes).",
    )
    listing.add_argument("--file", metavar="PATH", help=file_help)
    revoke = keys_sub.add_parser(
        "revoke",
        help="revoke a key by its key_id",
        description=(
            "Mark the key revoked in the key file; servers reading the file refuse it "
            "(401 RECSYS_AUTH_INVALID) within about 5 s. The record stays, for the audit."
        ),
    )
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key_id shown by `recsys keys list`")
    revoke.add_argument("--file", metavar="PATH", help=file_help)


def _apply_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
    if getattr(args, "port", None) is not None:
        changes["http_port"] = args.port
    if getattr(args, "kafka_port", None) is not None:
        changes["kafka_port"] = args.kafka_port
    if getattr(args, "partitions", None) is not None:
        changes["partitions"] = args.partitions
    return settings.replace(**changes) if changes else settings


async def _produce(settings: Settings, args: argparse.Namespace) -> int:
    from app.produce import produce_file, resolve_topic
    from schemas.registry import open_registry

    topic, _ = resolve_topic(args.topic)
    registry = await open_registry(settings.schema_registry_url)
    summary = await produce_file(
        args.file,
        args.topic,
        args.bootstrap or settings.bootstrap,
        registry=registry,
        salt=settings.user_id_salt,
        progress=args.progress,
        delivery_timeout_s=settings.delivery_timeout_s,
    )
    print(summary.render(args.file, topic))
    return 0 if summary.ok else 1


NOISY_LOGGERS = ("faust", "mode", "aiokafka", "aiohttp.access", "app.faust_app")


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        # Faust and aiokafka narrate every start/stop at INFO; keep their warnings only.
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from app.replay import ReplaySummary, merge_by_time, read_events, replay
    from schemas.errors import ConfigError
    from schemas.registry import open_registry

    files = [
        (alias, getattr(args, alias))
        for alias in ("items", "exposures", "outcomes", "assignments")
        if getattr(args, alias)
    ]
    if not files:
        raise ConfigError("give at least one of --exposures, --outcomes, --assignments, --items")
    summary = ReplaySummary()
    events = merge_by_time(read_events(path, alias, summary) for alias, path in files)
    registry = await open_registry(settings.schema_registry_url)
    await replay(
        events,
        args.bootstrap or settings.bootstrap,
        registry=registry,
        salt=settings.user_id_salt,
        rate=args.rate,
        total=len(events),
        progress=sys.stderr.isatty() or len(events) >= 100_000,
        summary=summary,
        delivery_timeout_s=settings.delivery_timeout_s,
    )
    print(summary.render())
    return 1 if summary.rejected or summary.failed else 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from app.api_keys import create_key, describe, keys_file, render_list
    from serving.key_file import load_keys, revoke_key

    path = keys_file(settings, args.file)
    now_ms = time.time_ns() // 1_000_000
    if args.keys_command == "create":
        raw, key = create_key(settings, path, args.tenant, args.roles, args.key_id,
                              args.expires_in_days, now_ms)
        print(f"created {describe(key, now_ms)} (in {path})", file=sys.stderr)
        print(raw, flush=True)
        print("This key is shown once and not stored (the file keeps only its HMAC): "
              "save it now; send it as the X-API-Key header.", file=sys.stderr)
    elif args.keys_command == "list":
        print(render_list(load_keys(path), now_ms))
    else:
        before = revoke_key(path, args.key_id)
        if before.revoked:
            print(f"{before.key_id} (tenant {before.tenant}) was revoked already")
        else:
            print(f"revoked {before.key_id} (tenant {before.tenant}); servers reading {path} "
                  "refuse it within about 5 s")
    return 0


LONG_RUNNING = frozenset({"up", "worker", "serve"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    code = _run(parser, args)
    if args.command in LONG_RUNNING:
        from app.lifecycle import exit_if_held

        exit_if_held(code)
    return code


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        settings = _apply_flags(load_settings(), args)
        _configure_logging(settings.log_level)
        if args.command == "keys":
            if args.keys_command is None:
                print(args.keys_help(), end="")
                return 2
            return _keys(settings, args)
        if args.command == "settings":
            for key, value in settings.masked().items():
                print(f"{key}={value}")
            return 0
        if args.command == "up":
            from app import lifecycle
            from app.runtime import run_until_signal

            if not args.demo:
                lifecycle.run(run_until_signal(settings))
                return 0
            from app.demo import DemoOptions, demo_settings, run_demo

            options = DemoOptions(rate=args.rate, seed=args.seed, duration_s=args.duration)
            lifecycle.run(
                run_until_signal(
                    demo_settings(settings), beside=lambda running: run_demo(running, options)
                )
            )
            return 0
        if args.command == "demo-report":
            from app.demo_report import demo_report

            bootstrap = args.bootstrap or settings.bootstrap
            return asyncio.run(demo_report(settings, bootstrap, args.output, args.experiment_id))
        if args.command == "dead-letters":
            from app.dead_letters import dead_letters

            bootstrap = args.bootstrap or settings.bootstrap
            asyncio.run(dead_letters(bootstrap, limit=args.limit))
            return 0
        if args.command == "produce":
            return asyncio.run(_produce(settings, args))
        if args.command == "replay":
            return asyncio.run(_replay(settings, args))
        if args.command == "serve":
            from app import lifecycle
            from app.serve import run_serving_until_signal
            from serving.loop import install

            install()  # uvloop for the replica (serving.loop), as bench/serving.py measures
            lifecycle.run(run_serving_until_signal(settings))
            return 0
        if args.command == "worker":
            from app import lifecycle
            from app.runtime import run_worker_until_signal

            lifecycle.run(run_worker_until_signal(settings))
            return 0
    except RecsysError as exc:
        print(f"recsys: error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"recsys: error: {exc.filename}: {FILE_ERRORS[type(exc)]}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command}")
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
