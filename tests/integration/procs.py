"""Start `recsys worker` processes the way an operator would, and kill them hard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def worker_env(bootstrap: str, app_id: str, data_dir: Path, partitions: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "KAFKA_"))}
    env.update(
        {
            "RECSYS_KAFKA_BOOTSTRAP": bootstrap,
            "RECSYS_APP_ID": app_id,
            "RECSYS_DATA_DIR": str(data_dir),
            "RECSYS_PARTITIONS": str(partitions),
            "RECSYS_GRACE_S": "86400",
            "RECSYS_GRACE_WALL_S": "5",
        }
    )
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, no commit."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def ended(proc: subprocess.Popen[str], timeout_s: float = 30.0) -> tuple[str, str, float]:
    """Wait for ``proc`` to end: its stdout, its stderr and the seconds that took."""
    started = time.monotonic()
    out, err = proc.communicate(timeout=timeout_s)
    return out, err, time.monotonic() - started


def reap(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs (a test's ``finally``: nothing is left behind)."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
