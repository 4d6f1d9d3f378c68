"""How `recsys up` and `recsys worker` end: on a worker crash, on signals, on bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.broker import EmbeddedBroker, free_port, port_in_use
from app.kafka_admin import ensure_topics
from tests.integration.procs import ended, reap


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "KAFKA_"))}
    env["RECSYS_DATA_DIR"] = str(tmp_path / "var")
    env["RECSYS_PARTITIONS"] = "2"
    env.update(extra)
    return env


def _run(module: str, *args: str, env: dict[str, str], timeout: float = 60):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.monotonic() - started


def _error_lines(stderr: str) -> list[str]:
    """The ``recsys: error:`` lines. (Faust logs the crash with its traceback, and
    objects of the crashed worker may still complain when collected at exit: the
    error line is not always the last.)"""
    return [line for line in stderr.splitlines() if line.startswith("recsys: error:")]


def test_up_exits_1_and_stops_everything_when_its_worker_crashes(tmp_path: Path):
    http_port, kafka_port = free_port(), free_port()
    done, took = _run(
        "tests.integration.crashing_cli",
        "up", "--port", str(http_port), "--kafka-port", str(kafka_port),
        env=_env(tmp_path),
    )
    assert done.returncode == 1, done.stderr
    # started in a few seconds, crashed 3 s later; stopping is bounded by 10 s
    assert took < 30, f"took {took:.1f}s"
    assert _error_lines(done.stderr) == [
        "recsys: error: the stream worker crashed (RuntimeError: injected crash); "
        "stopped everything"
    ]
    assert "WorkerCrashedError" not in done.stderr  # reported, not raised as a traceback
    assert "recsys up: stopping" in done.stdout
    assert not port_in_use("127.0.0.1", kafka_port), "embedded broker still listening"
    assert not port_in_use("127.0.0.1", http_port)


def test_worker_exits_1_naming_the_crash_reason(tmp_path: Path, fresh_broker: EmbeddedBroker):
    env = _env(tmp_path, RECSYS_KAFKA_BOOTSTRAP=fresh_broker.bootstrap, RECSYS_APP_ID="crashy")
    done, took = _run("tests.integration.crashing_cli", "worker", env=env)
    assert done.returncode == 1, done.stderr
    assert took < 30, f"took {took:.1f}s"
    assert _error_lines(done.stderr) == [
        "recsys: error: the stream worker crashed (RuntimeError: injected crash)"
    ]
    assert "WorkerCrashedError" not in done.stderr


def test_up_with_a_taken_http_port_says_so_and_stops_what_it_started(tmp_path: Path):
    kafka_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        http_port = taken.getsockname()[1]
        done, took = _run(
            "app.cli", "up", "--port", str(http_port), "--kafka-port", str(kafka_port),
            env=_env(tmp_path),
        )
    assert done.returncode == 1, done.stderr
    assert took < 30, f"took {took:.1f}s"
    [error] = _error_lines(done.stderr)
    assert error.startswith(f"recsys: error: cannot listen on 127.0.0.1:{http_port}: ")
    assert error.endswith("pick another port with --port (or RECSYS_HTTP_PORT)")
    assert "Traceback" not in done.stderr
    assert not port_in_use("127.0.0.1", kafka_port), "embedded broker still listening"


def _start_up(tmp_path: Path, http_port: int, kafka_port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(http_port),
         "--kafka-port", str(kafka_port)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_listening(proc: subprocess.Popen[str], port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_in_use("127.0.0.1", port):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "recsys up never listened"
        time.sleep(0.2)


def _broker_pid(kafka_port: int) -> int:
    """The PID of the broker listening on ``kafka_port`` (its command line names it)."""
    needle = f"tcp://127.0.0.1:{kafka_port}"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "broker" in cmdline and needle in cmdline:
                return int(entry.name)
    raise AssertionError(f"no broker process on {needle}")


def test_up_exits_1_when_its_embedded_broker_dies(tmp_path: Path):
    http_port, kafka_port = free_port(), free_port()
    up = _start_up(tmp_path, http_port, kafka_port)
    try:
        _wait_listening(up, http_port)
        pid = _broker_pid(kafka_port)
        os.kill(pid, signal.SIGKILL)
        _, stderr, took = ended(up, 30)
    finally:
        reap(up)
    assert up.returncode == 1, stderr
    assert took < 12, f"took {took:.1f}s"  # noticed within 0.5 s, stopped within 10 s
    assert _error_lines(stderr) == [
        f"recsys: error: the embedded broker (pid {pid}) exited with code -9; stopped everything"
    ]
    assert not port_in_use("127.0.0.1", http_port)


def test_ctrl_c_during_startup_stops_at_once(tmp_path: Path):
    """A bootstrap server that accepts connections and never answers: aiokafka waits its
    40 s request timeout, and the signal used to wait with it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        bootstrap = f"127.0.0.1:{silent.getsockname()[1]}"
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=_env(tmp_path, RECSYS_KAFKA_BOOTSTRAP=bootstrap),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)  # imported, settings read, waiting for the broker
            assert worker.poll() is None, worker.communicate()
            worker.send_signal(signal.SIGINT)
            out, err, took = ended(worker, 30)
        finally:
            reap(worker)
    assert took < 10, f"took {took:.1f}s"
    assert worker.returncode == 0, err
    assert "recsys worker: stopped during startup" in out
    assert "Traceback" not in err


def test_sigterm_while_up_starts_leaves_nothing_behind(tmp_path: Path):
    http_port, kafka_port = free_port(), free_port()
    up = _start_up(tmp_path, http_port, kafka_port)
    try:
        _wait_listening(up, kafka_port)  # the broker is up; the worker is starting
        up.send_signal(signal.SIGTERM)
        out, err, took = ended(up, 30)
    finally:
        reap(up)
    assert up.returncode == 0, err
    assert took < 10, f"took {took:.1f}s"
    assert "recsys up: stopped during startup" in out
    assert not port_in_use("127.0.0.1", kafka_port), "embedded broker still listening"
    assert not port_in_use("127.0.0.1", http_port)


def test_the_embedded_broker_dies_with_a_sigkilled_up(tmp_path: Path):
    http_port, kafka_port = free_port(), free_port()
    up = _start_up(tmp_path, http_port, kafka_port)
    try:
        _wait_listening(up, kafka_port)
        pid = _broker_pid(kafka_port)
        up.kill()
        up.communicate(timeout=10)
        deadline = time.monotonic() + 5
        while port_in_use("127.0.0.1", kafka_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphaned = port_in_use("127.0.0.1", kafka_port)
    finally:
        reap(up)
    if orphaned:  # do not leave it to the next test run
        os.kill(pid, signal.SIGKILL)
    assert not orphaned, "the embedded broker outlived its recsys up"


def test_worker_refuses_topics_with_another_partition_count(
    tmp_path: Path, fresh_broker: EmbeddedBroker
):
    env = _env(tmp_path, RECSYS_KAFKA_BOOTSTRAP=fresh_broker.bootstrap, RECSYS_PARTITIONS="8")
    asyncio.run(ensure_topics(fresh_broker.bootstrap, 8))
    done, took = _run("app.cli", "worker", "--partitions", "4", env=env)
    assert done.returncode == 1, done.stderr
    assert took < 30, f"took {took:.1f}s"
    [error] = _error_lines(done.stderr)
    assert error.startswith(
        f"recsys: error: topics on {fresh_broker.bootstrap} have other partition counts "
        "than the 4 configured: recsys.exposures.v1 (8), "
    )
    assert error.endswith("; start with --partitions 8 (or RECSYS_PARTITIONS=8)")
    assert "Traceback" not in done.stderr


def test_serve_without_a_reachable_kafka_is_one_error_line(tmp_path: Path):
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    done, took = _run(
        "app.cli", "serve", "--port", "0", env=_env(tmp_path, RECSYS_KAFKA_BOOTSTRAP=bootstrap)
    )
    assert done.returncode == 1, done.stderr
    assert took < 30, f"took {took:.1f}s"
    [error] = _error_lines(done.stderr)
    assert error.startswith(f"recsys: error: cannot reach Kafka at {bootstrap}: ")
    assert error.endswith("; check RECSYS_KAFKA_BOOTSTRAP")
    assert "Traceback" not in done.stderr
    assert "Unclosed" not in done.stderr  # every client whose start failed was stopped
