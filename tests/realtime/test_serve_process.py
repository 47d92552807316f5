"""``pitchey serve`` as a user runs it: embedded servers, demo data, signals, restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from protocol import MSGPACK, GoAway, Welcome, decode_server
from storage import EmbeddedPostgres, issue_access_token, open_storage

from support import free_port, make_user

DEMO_EMAILS = [
    "alex.creator@demo.com",
    "sarah.investor@demo.com",
    "stellar.production@demo.com",
]


def _serve_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PITCHEY_DATA_DIR=str(data_dir),
        PORT=str(free_port()),
        WS_PORT=str(free_port()),
        LOG_FORMAT="json",
        DRAIN_TIMEOUT="10",
    )
    env.pop("JWT_SECRET", None)
    return env


async def _start(env: dict[str, str], *args: str) -> trio.Process:
    return await trio.lowlevel.open_process(
        [sys.executable, "-m", "realtime", "serve", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(env: dict[str, str], proc: trio.Process) -> None:
    url = f"http://127.0.0.1:{env['PORT']}/ready"
    async with httpx.AsyncClient() as client:
        while True:
            assert proc.returncode is None, "node exited during start-up"
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await trio.sleep(0.1)


def _embedded_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.append(proc)
    return found


async def _demo_emails(data_dir: Path) -> list[str]:
    pg = EmbeddedPostgres(data_dir)
    assert pg.running() is not None
    redis_url = f"redis://127.0.0.1:{(data_dir / 'redis' / 'port').read_text()}/0"
    async with open_storage(pg.url, redis_url, pool_size=1) as storage:
        rows = await storage.connection(
            lambda conn: conn.fetch(
                "SELECT email FROM users WHERE email LIKE '%@demo.com' ORDER BY email"
            )
        )
        pitches = await storage.connection(
            lambda conn: conn.fetchval("SELECT count(*) FROM pitches WHERE require_nda")
        )
    assert pitches >= 1
    return [r["email"] for r in rows]


@pytest.fixture
def data_dir(tmp_path: Path):
    yield tmp_path / "pitchey-data"
    for proc in _embedded_processes(tmp_path / "pitchey-data"):
        proc.kill()


async def test_serve_with_demo_then_restart_keeps_data_and_leaves_no_orphans(
    data_dir: Path,
) -> None:
    env = _serve_env(data_dir)
    with trio.fail_after(120):
        proc = await _start(env, "--demo")
        await _wait_ready(env, proc)
        assert await _demo_emails(data_dir) == sorted(DEMO_EMAILS)
        proc.send_signal(signal.SIGINT)
        assert await proc.wait() == 0
        assert _embedded_processes(data_dir) == []

        proc = await _start(env)
        await _wait_ready(env, proc)
        assert await _demo_emails(data_dir) == sorted(DEMO_EMAILS)
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0
        assert _embedded_processes(data_dir) == []
    secret = (data_dir / "jwt_secret").read_text()
    assert len(secret) >= 32


async def _token_for_new_user(data_dir: Path) -> str:
    """A user in the node's embedded database and a token signed with its own secret."""
    pg = EmbeddedPostgres(data_dir)
    assert pg.running() is not None
    redis_url = f"redis://127.0.0.1:{(data_dir / 'redis' / 'port').read_text()}/0"
    async with open_storage(pg.url, redis_url, pool_size=1) as storage:
        user = await make_user(storage)
    token, _ = issue_access_token(
        (data_dir / "jwt_secret").read_text().strip(),
        user_id=user.id,
        user_type="investor",
        token_version=0,
    )
    return token


async def test_sigterm_says_goaway_and_closes_sockets_with_going_away(data_dir: Path) -> None:
    env = _serve_env(data_dir)
    with trio.fail_after(120):
        proc = await _start(env)
        try:
            await _wait_ready(env, proc)
            token = await _token_for_new_user(data_dir)
            url = f"ws://127.0.0.1:{env['WS_PORT']}/ws?token={token}"
            async with open_websocket_url(url) as ws:
                assert isinstance(decode_server(await ws.get_message(), MSGPACK), Welcome)
                proc.send_signal(signal.SIGTERM)
                goaway = decode_server(await ws.get_message(), MSGPACK)
                with pytest.raises(ConnectionClosed) as caught:
                    await ws.get_message()
            assert isinstance(goaway, GoAway)
            assert caught.value.reason.code == 1001
            assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
    assert _embedded_processes(data_dir) == []
