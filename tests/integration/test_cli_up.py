"""The README flow, as a user runs it: `recsys up`, `recsys produce`, curl, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.broker import free_port, port_in_use


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "KAFKA_"))}
    env["RECSYS_DATA_DIR"] = str(tmp_path / "var")
    env["RECSYS_PARTITIONS"] = "4"
    return env


def _recsys(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _recommend(port: int) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/recommend",
        data=b'{"surface":"home","k":5,"user":{"user_id":"u9"}}',
        headers={"X-Org-Id": "t1", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def test_up_produce_recommend_and_sigterm_stops_everything(tiny_dir: Path, tmp_path: Path):
    http_port, kafka_port = free_port(), free_port()
    env = _env(tmp_path)
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "up",
                "--port",
                str(http_port),
                "--kafka-port",
                str(kafka_port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert up.poll() is None, log.read_text()
            try:
                if _get(f"http://127.0.0.1:{http_port}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("recsys up never became ready")

        bootstrap = ["--bootstrap", f"127.0.0.1:{kafka_port}"]
        done = _recsys(
            "produce",
            "--topic",
            "exposures",
            str(tiny_dir / "exposures.jsonl"),
            *bootstrap,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "sent 3, rejected 0" in done.stdout

        bad = tmp_path / "outcomes_with_bad_lines.jsonl"
        good = (tiny_dir / "outcomes.jsonl").read_text().splitlines()
        bad.write_text(
            "\n".join(
                [
                    good[0],
                    '{"request_id":"r9","user_id":"u","item_id":"i1","event_type":"view","ts":"2025-01-01T00:00:00Z"}',
                    "not json",
                    good[1],
                ]
            )
            + "\n"
        )
        done = _recsys("produce", "--topic", "outcomes", str(bad), *bootstrap, env=env)
        assert done.returncode == 1
        assert "sent 2, rejected 2" in done.stdout
        assert "line 2: " in done.stdout and "event_type" in done.stdout
        assert "line 3: not JSON" in done.stdout

        # i4 (a conversion, weight 3) and i1 (a click, weight 1) are engaged; i2 and i3
        # were only shown (weight 0) and follow at score 0, in item_id order.
        deadline = time.monotonic() + 30
        items: list[str] = []
        while time.monotonic() < deadline and items != ["i4", "i1", "i2", "i3"]:
            items = [i["item_id"] for i in _recommend(http_port)["items"]]
            time.sleep(0.2)
        assert items == ["i4", "i1", "i2", "i3"]
    finally:
        started = time.monotonic()
        up.send_signal(signal.SIGTERM)
        code = up.wait(timeout=15)
        stopped_in = time.monotonic() - started
    out = log.read_text()
    assert code == 0, out
    assert stopped_in < 10, f"stop took {stopped_in:.1f}s"
    assert not port_in_use("127.0.0.1", kafka_port), "embedded broker still listening"
    assert not port_in_use("127.0.0.1", http_port)
    assert "recsys up: stopping" in out


def test_up_refuses_a_taken_kafka_port_with_a_clear_error(tmp_path: Path, broker):
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    done = _recsys("up", "--port", str(free_port()), "--kafka-port", str(port), env=_env(tmp_path))
    assert done.returncode == 1
    assert f"port 127.0.0.1:{port} is already in use" in done.stderr
