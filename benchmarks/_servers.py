"""Infrastructure for the fan-out benchmark: PostgreSQL, Redis, users, the servers under test.

PostgreSQL and Redis come from ``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL`` when set, else
from the embedded servers the node itself would start. Either way the benchmark gets a
database and a Redis key prefix of its own, removed at the end. The product node and the
floor server run as subprocesses whose CPU time and RSS are read with psutil.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import trio
from _meter import cpu_seconds

from storage import (
    EmbeddedServers,
    apply_migrations,
    create_database,
    delete_prefix,
    drop_database,
    issue_access_token,
    open_storage,
)

REPO = Path(__file__).resolve().parent.parent
FLOOR_SERVER = Path(__file__).resolve().parent / "floor_server.py"
JWT_SECRET = "bench-secret-" + secrets.token_hex(24)


@dataclass
class Infra:
    database_url: str
    redis_url: str
    key_prefix: str
    owner_id: int
    member_ids: list[int]
    workdir: Path
    embedded: EmbeddedServers

    def tokens(self, count: int) -> list[str]:
        """Fresh access tokens (15 minutes) for the first ``count`` members."""
        return [
            issue_access_token(JWT_SECRET, user_id=uid, user_type="investor", token_version=0)[0]
            for uid in self.member_ids[:count]
        ]

    def new_pitch(self) -> int:
        """A fresh published pitch (so every run gets an empty room)."""
        return trio.run(_new_pitch, self)

    def storage_processes(self) -> list[psutil.Process]:
        """The embedded PostgreSQL (postmaster and backends) and Redis, if embedded."""
        found: list[psutil.Process] = []
        for server in (self.embedded.postgres, self.embedded.redis):
            proc = server.running() if server is not None else None
            if proc is not None:
                found.append(proc)
                with contextlib.suppress(psutil.Error):
                    found.extend(proc.children(recursive=True))
        return found


@contextlib.contextmanager
def infrastructure(members: int) -> Iterator[Infra]:
    """PostgreSQL and Redis with a migrated database holding ``members`` users."""
    workdir = Path(tempfile.mkdtemp(prefix="pitchey-bench-"))
    server_url = os.environ.get("BENCH_DATABASE_URL") or None
    redis_url = os.environ.get("BENCH_REDIS_URL") or None
    embedded = EmbeddedServers.for_missing(
        workdir / "servers", database=server_url is None, redis=redis_url is None
    )
    run_id = secrets.token_hex(4)
    db_name = f"pitchey_bench_{os.getpid()}_{run_id}"
    prefix = f"pitchey-bench-{run_id}:"
    database_url = None
    try:
        embedded.start()
        server_url = server_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
        assert server_url is not None and redis_url is not None
        database_url = trio.run(create_database, server_url, db_name)
        owner, ids = trio.run(_prepare, database_url, redis_url, prefix, members)
        yield Infra(database_url, redis_url, prefix, owner, ids, workdir, embedded)
    finally:
        try:
            if database_url is not None and server_url is not None and redis_url is not None:
                trio.run(drop_database, server_url, db_name)
                trio.run(delete_prefix, redis_url, prefix)
        finally:
            embedded.stop()
            shutil.rmtree(workdir, ignore_errors=True)


async def _prepare(
    database_url: str, redis_url: str, prefix: str, members: int
) -> tuple[int, list[int]]:
    async with open_storage(database_url, redis_url, pool_size=2, key_prefix=prefix) as storage:
        await apply_migrations(storage)

        async def insert(conn: Any) -> tuple[int, list[int]]:
            owner = await conn.fetchval(
                "INSERT INTO users (email, username, password_hash, user_type, first_name) "
                "VALUES ('bench-owner@example.com', 'bench-owner', 'x', 'creator', 'Owner') "
                "RETURNING id"
            )
            rows = await conn.fetch(
                "INSERT INTO users (email, username, password_hash, user_type, first_name) "
                "SELECT 'bench-' || i || '@example.com', 'bench-' || i, 'x', 'investor', "
                "'Member ' || i FROM generate_series(1, $1::int) AS i RETURNING id",
                members,
            )
            return owner, sorted(row["id"] for row in rows)

        return await storage.transaction(insert)


async def _new_pitch(infra: Infra) -> int:
    async with open_storage(
        infra.database_url, infra.redis_url, pool_size=1, key_prefix=infra.key_prefix
    ) as storage:
        return await storage.transaction(
            lambda conn: conn.fetchval(
                "INSERT INTO pitches (owner_id, title, logline, status) "
                "VALUES ($1, 'Benchmark pitch', 'A room for the fan-out benchmark', "
                "'published') RETURNING id",
                infra.owner_id,
            )
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server under test, as a subprocess whose output goes to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.proc = psutil.Process(self.popen.pid)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    def cpu(self) -> float:
        """User + system CPU seconds of the server process so far."""
        return cpu_seconds(self.proc)

    def rss(self) -> int:
        return int(self.proc.memory_info().rss)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def wait_idle(self, *, below: float = 0.05, step: float = 0.5, timeout: float = 90) -> float:
        """Wait until the server uses less than ``below`` of a core for two steps in a row;
        returns the seconds waited (bounded by ``timeout``)."""
        start = time.monotonic()
        quiet = 0
        last_cpu, last_t = self.cpu(), start
        while time.monotonic() - start < timeout:
            time.sleep(step)
            self.check_alive()
            cpu, now = self.cpu(), time.monotonic()
            quiet = quiet + 1 if (cpu - last_cpu) / (now - last_t) < below else 0
            if quiet >= 2:
                break
            last_cpu, last_t = cpu, now
        return time.monotonic() - start

    def stop(self, timeout: float = 15) -> None:
        """SIGINT (the node drains), then SIGKILL after ``timeout``."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()

    def log_size(self) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.stat().st_size
        return 0

    def warnings(self, split_at: int) -> tuple[dict[str, int], list[str]]:
        """Counts of the log's events at warning level or above (the node logs JSON, one
        event a line), those after byte ``split_at`` marked "at stop"; and the first few
        such lines."""
        counts: dict[str, int] = {}
        lines: list[str] = []
        with contextlib.suppress(OSError):
            data = self.log_path.read_bytes()
            for when, part in (("", data[:split_at]), (" at stop", data[split_at:])):
                for line in part.decode(errors="replace").splitlines():
                    if '"level": "warning"' in line or '"level": "error"' in line:
                        key = line.split('"event": "', 1)[-1].split('"', 1)[0][:60]
                    elif line.startswith("Traceback"):
                        key = "traceback"
                    else:
                        continue
                    counts[key + when] = counts.get(key + when, 0) + 1
                    if len(lines) < 3:
                        lines.append(line[:300])
        return counts, lines

    def keep_log(self, folder: Path) -> Path:
        """Copy the log to ``folder`` (which outlives the benchmark's work folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.log_path, folder / self.log_path.name))


def start_node(
    infra: Infra, name: str, extra_env: dict[str, str] | None = None
) -> tuple[ServerProcess, int]:
    """The product: ``python -m realtime serve`` on this benchmark's database and Redis."""
    http_port, ws_port = free_port(), free_port()
    env = dict(
        os.environ,
        DATABASE_URL=infra.database_url,
        REDIS_URL=infra.redis_url,
        REDIS_KEY_PREFIX=infra.key_prefix,
        JWT_SECRET=JWT_SECRET,
        PORT=str(http_port),
        WS_PORT=str(ws_port),
        HOST="127.0.0.1",
        LOG_LEVEL="warning",
        LOG_FORMAT="json",
        DRAIN_TIMEOUT="2",
        PITCHEY_DATA_DIR=str(infra.workdir / "node"),
    )
    env.update(extra_env or {})
    server = ServerProcess(
        "node", [sys.executable, "-m", "realtime", "serve"], env, infra.workdir / f"{name}.log"
    )
    try:
        _wait_until(server, lambda: _http_ok(f"http://127.0.0.1:{http_port}/ready"), 90)
    except BaseException:
        server.stop()
        raise
    return server, ws_port


def start_floor(infra: Infra, name: str) -> tuple[ServerProcess, int]:
    """The floor: a bare trio-websocket broadcast server."""
    port = free_port()
    argv = [sys.executable, str(FLOOR_SERVER), str(port)]
    server = ServerProcess("floor", argv, dict(os.environ), infra.workdir / f"{name}.log")
    try:
        _wait_until(server, lambda: "listening" in server.tail(), 30)
    except BaseException:
        server.stop()
        raise
    return server, port


def _wait_until(server: ServerProcess, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        if ready():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{server.name} not ready after {timeout:.0f} s:\n{server.tail()}")


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_ok(url: str) -> bool:
    try:
        with _NO_PROXY.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
