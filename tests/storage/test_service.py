"""The storage service against real servers: transactions, error mapping, readiness."""

from __future__ import annotations

import secrets

import pytest
import trio

from storage import (
    EmbeddedRedis,
    StorageError,
    StorageUnavailable,
    UniqueViolation,
    open_storage,
)

from support import Servers, free_port


async def test_transaction_rolls_back_on_error(storage) -> None:
    email = f"rollback-{secrets.token_hex(4)}@example.com"

    async def insert_then_fail(conn):
        await conn.execute(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $1, 'x', 'creator')",
            email,
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await storage.transaction(insert_then_fail)
    count = await storage.connection(
        lambda conn: conn.fetchval("SELECT count(*) FROM users WHERE email = $1", email)
    )
    assert count == 0


async def test_duplicate_email_is_a_unique_violation(storage) -> None:
    email = f"dup-{secrets.token_hex(4)}@example.com"

    async def insert(conn, address, username):
        await conn.execute(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $2, 'x', 'investor')",
            address,
            username,
        )

    await storage.transaction(insert, email, email)
    with pytest.raises(UniqueViolation) as caught:
        await storage.transaction(insert, email.upper(), email + "2")
    assert caught.value.constraint is not None


async def test_sql_error_is_mapped_to_storage_error(storage) -> None:
    with pytest.raises(StorageError, match="postgres"):
        await storage.connection(lambda conn: conn.execute("SELECT * FROM no_such_table"))


async def test_keys_live_under_the_run_prefix(storage, servers: Servers) -> None:
    assert storage.key("room", 7, "seq") == f"{servers.key_prefix}room:7:seq"


async def test_check_reports_both_dependencies_up(storage) -> None:
    statuses = await storage.check()
    assert [(s.name, s.ok) for s in statuses] == [("postgres", True), ("redis", True)]
    assert all(s.latency_ms >= 0 for s in statuses)


async def test_unreachable_postgres_raises_unavailable(servers: Servers) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(StorageUnavailable) as caught:
        async with open_storage(url, servers.redis_url, connect_deadline=0.5):
            pass
    assert caught.value.dependency == "postgres"


async def test_redis_outage_is_reported_and_survived(servers: Servers, tmp_path) -> None:
    redis = EmbeddedRedis(tmp_path, port=free_port())
    await trio.to_thread.run_sync(redis.start)
    try:
        async with open_storage(servers.database_url, redis.url, pool_size=1) as storage:
            await trio.to_thread.run_sync(redis.stop)
            down = {s.name: s for s in await storage.check()}
            assert down["postgres"].ok and not down["redis"].ok
            with pytest.raises(StorageUnavailable):
                await storage.redis(lambda client: client.ping())
            await trio.to_thread.run_sync(redis.start)
            up = {s.name: s for s in await storage.check()}
            assert up["redis"].ok
    finally:
        await trio.to_thread.run_sync(redis.stop)


async def test_errors_from_the_body_come_out_unwrapped(servers: Servers) -> None:
    with pytest.raises(KeyError):
        async with open_storage(servers.database_url, servers.redis_url, pool_size=1):
            raise KeyError("mine")


async def test_more_concurrent_redis_commands_than_connections_all_succeed(storage) -> None:
    """Past the pool's size, commands wait for a connection instead of failing."""
    from storage._service import REDIS_MAX_CONNECTIONS

    key = storage.key("pool-test")
    count = REDIS_MAX_CONNECTIONS * 4

    async def slow_incr(client) -> int:
        await client.blpop([key + ":never"], timeout=0.05)  # holds its connection 50 ms
        return await client.incr(key)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(storage.redis, slow_incr)
    assert int(await storage.redis(lambda client: client.get(key))) == count
