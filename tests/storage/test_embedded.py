"""Embedded PostgreSQL and Redis: start, stop, restart, reuse after a crash, sharing."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import trio

from storage import EmbeddedPostgres, EmbeddedServers, open_storage


def _processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(folder) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.append(proc)
    return found


async def _write_and_read(servers: EmbeddedServers, value: str | None) -> tuple[str, str]:
    assert servers.database_url and servers.redis_url
    async with open_storage(servers.database_url, servers.redis_url, pool_size=1) as storage:

        async def pg(conn, value):
            await conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
            if value is not None:
                await conn.execute("INSERT INTO kept VALUES ($1)", value)
            return await conn.fetchval("SELECT string_agg(v, ',') FROM kept")

        async def rd(client, value):
            if value is not None:
                await client.set(storage.key("kept"), value)
            return (await client.get(storage.key("kept"))).decode()

        return await storage.transaction(pg, value), await storage.redis(rd, value)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_restart_keeps_postgres_and_redis_data(data_dir: Path) -> None:
    first = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    first.start()
    try:
        assert trio.run(_write_and_read, first, "one") == ("one", "one")
    finally:
        first.stop()
    assert _processes_using(data_dir) == []

    second = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    second.start()
    try:
        assert trio.run(_write_and_read, second, None) == ("one", "one")
    finally:
        second.stop()
    assert _processes_using(data_dir) == []


def test_server_left_by_a_crashed_node_is_reused(data_dir: Path) -> None:
    crashed = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    crashed.start()
    pg_pid = crashed.postgres.running().pid
    # A crashed node never calls stop(); its lock dies with it.
    crashed._users._fh.close()

    restarted = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    restarted.start()
    try:
        assert restarted.postgres.running().pid == pg_pid
        assert restarted.database_url == crashed.database_url
        assert restarted.redis_url == crashed.redis_url
    finally:
        restarted.stop()
    assert _processes_using(data_dir) == []


def test_servers_stop_when_the_last_sharing_node_stops(data_dir: Path) -> None:
    one = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    two = EmbeddedServers.for_missing(data_dir, database=True, redis=True)
    one.start()
    two.start()
    assert one.database_url == two.database_url
    one.stop()
    assert two.postgres.running() is not None
    assert two.redis.running() is not None
    two.stop()
    assert _processes_using(data_dir) == []


def test_stale_pid_file_does_not_stop_a_fresh_start(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir)
    pg.start()
    pid = pg.running().pid
    psutil.Process(pid).kill()  # postgres dies, leaving postmaster.pid behind
    psutil.Process(pid).wait(10)
    assert (pg.pgdata / "postmaster.pid").exists()
    try:
        url = pg.start()
        assert pg.running() is not None
        assert url.startswith("postgresql://postgres@127.0.0.1:")
    finally:
        pg.stop()
