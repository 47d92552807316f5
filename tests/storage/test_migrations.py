"""Migrations apply once, in order, even with several nodes starting together."""

from __future__ import annotations

import os
import secrets
import sys

import pytest
import trio

from storage import (
    MigrationError,
    apply_migrations,
    create_database,
    drop_database,
    load_migrations,
    open_storage,
)

from support import Servers


@pytest.fixture
async def fresh_database(servers: Servers):
    name = f"pitchey_mig_{secrets.token_hex(4)}"
    url = await create_database(servers.server_url, name)
    yield url
    await drop_database(servers.server_url, name)


def test_migration_files_are_ordered_and_named() -> None:
    migrations = load_migrations()
    assert migrations, "no migration files shipped"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert migrations[0].version == "0001"


async def test_concurrent_nodes_apply_each_migration_once(
    servers: Servers, fresh_database: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "REDIS_URL": servers.redis_url,
        "REDIS_KEY_PREFIX": servers.key_prefix,
        "JWT_SECRET": "s" * 40,
        "LOG_LEVEL": "warning",
    }
    outputs: list[str] = []

    async def migrate() -> None:
        result = await trio.run_process(
            [sys.executable, "-m", "realtime", "migrate"],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
        )
        outputs.append(result.stdout.decode())

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(migrate)

    total = len(load_migrations())
    applied_counts = sorted(int(out.split()[1]) for out in outputs)
    assert applied_counts == [0, 0, 0, total]

    async with open_storage(fresh_database, servers.redis_url, pool_size=1) as storage:
        rows = await storage.connection(
            lambda conn: conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        )
        assert [r["version"] for r in rows] == [m.version for m in load_migrations()]
        assert await apply_migrations(storage) == []


async def test_an_edited_applied_migration_is_refused(storage) -> None:
    async def tamper(conn):
        await conn.execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0001'"
        )

    async def restore(conn, checksum):
        await conn.execute(
            "UPDATE schema_migrations SET checksum = $1 WHERE version = '0001'", checksum
        )

    await storage.transaction(tamper)
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(storage)
    finally:
        await storage.transaction(restore, load_migrations()[0].checksum)
