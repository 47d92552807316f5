"""What the embedded PostgreSQL and Redis servers have in common.

The servers are child processes in their own session (so a Ctrl-C aimed at the node does not
reach them before the node has drained), found again after a crash through their pid files,
and shared by every node that uses the same data folder: each node holds a shared ``flock``
on ``embedded.users.lock`` while it runs, and the last one out stops the servers.

Everything here is synchronous: starting a database is blocking work, run from trio with
``trio.to_thread.run_sync`` and directly from the test suite's session fixtures.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psutil
import structlog

from ._errors import EmbeddedServerError

log = structlog.get_logger("storage.embedded")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def live_process(pid: int, needle: str, marker: str) -> psutil.Process | None:
    """The process ``pid`` if it runs and its command line mentions ``needle`` and ``marker``.

    The double check keeps a recycled pid (some unrelated process) from being mistaken for
    our server.
    """
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if needle in cmdline and marker in cmdline:
        return proc
    return None


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] = lambda: True,
    log_file: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail with the log's tail if time runs out or the
    process dies first."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if not alive():
            raise EmbeddedServerError(f"{what} exited during start-up{_tail(log_file)}")
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"{what} not ready after {timeout:.0f}s{_tail(log_file)}")
        time.sleep(0.05)


def _tail(log_file: Path | None, lines: int = 15) -> str:
    if log_file is None or not log_file.exists():
        return ""
    text = log_file.read_text(errors="replace").splitlines()[-lines:]
    return "; log tail:\n" + "\n".join(text)


def stop_process(proc: psutil.Process, *, sig: int, timeout: float, what: str) -> None:
    """Ask ``proc`` to stop with ``sig``; kill it if it has not gone within ``timeout``."""
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        log.warning("embedded_server_kill", server=what, pid=proc.pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)


def spawn(
    argv: list[str], *, log_file: Path, user: str | None = None, cwd: Path | None = None
) -> psutil.Popen:
    """Start a server in its own session, its output going to ``log_file``."""
    with open(log_file, "ab") as out:
        return psutil.Popen(
            argv,
            stdin=open(os.devnull, "rb"),
            stdout=out,
            stderr=out,
            start_new_session=True,
            cwd=cwd,
            **run_as(user),
        )


def run_as(user: str | None) -> dict[str, Any]:
    """``subprocess`` arguments that run a child as ``user`` with that user's group only
    (without dropping root's groups the child would still be in group root)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (serialises start and stop across nodes)."""
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class UserLock:
    """A shared lock held by every node using a data folder while it runs."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        self._fh = open(self._path, "a+b")  # noqa: SIM115 (held until release_is_last)
        fcntl.flock(self._fh, fcntl.LOCK_SH)

    def release_is_last(self) -> bool:
        """Release the lock; true when no other node holds it (we were the last user)."""
        if self._fh is None:
            return False
        fh, self._fh = self._fh, None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        else:
            return True
        finally:
            fh.close()
