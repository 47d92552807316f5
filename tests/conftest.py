"""Real PostgreSQL and Redis for the test suite.

``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` name servers to use; without them the suite
starts its own from the same pip-installed binaries the node uses. Either way this run gets
a database of its own (created now, dropped at the end) and a Redis key prefix of its own,
so concurrent runs never see each other's data.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import trio
import trio.testing

from realtime import Node
from storage import (
    EmbeddedServers,
    Storage,
    apply_migrations,
    create_database,
    delete_prefix,
    drop_database,
    open_storage,
)

from support import RunningNode, Servers, node_settings


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    data_dir = tmp_path_factory.mktemp("servers")
    server_url = os.environ.get("TEST_DATABASE_URL") or None
    redis_url = os.environ.get("TEST_REDIS_URL") or None
    embedded = EmbeddedServers.for_missing(
        data_dir, database=server_url is None, redis=redis_url is None
    )
    embedded.start()
    try:
        server_url = server_url or embedded.database_url
        redis_url = redis_url or embedded.redis_url
        assert server_url is not None and redis_url is not None
        run_id = secrets.token_hex(4)
        db_name = f"pitchey_test_{os.getpid()}_{run_id}"
        database_url = trio.run(create_database, server_url, db_name)
        prefix = f"pitchey-test-{run_id}:"
        trio.run(_migrate, database_url, redis_url, prefix)
        try:
            yield Servers(server_url, database_url, redis_url, prefix, data_dir)
        finally:
            trio.run(drop_database, server_url, db_name)
            trio.run(delete_prefix, redis_url, prefix)
    finally:
        embedded.stop()


async def _migrate(database_url: str, redis_url: str, prefix: str) -> None:
    async with open_storage(database_url, redis_url, pool_size=2, key_prefix=prefix) as storage:
        await apply_migrations(storage)


@pytest.fixture
async def storage(servers: Servers) -> AsyncIterator[Storage]:
    async with open_storage(
        servers.database_url, servers.redis_url, pool_size=4, key_prefix=servers.key_prefix
    ) as opened:
        yield opened


@pytest.fixture
async def node(servers: Servers) -> AsyncIterator[RunningNode]:
    """A node running in this test's trio run, on this run's servers; at teardown it
    drains and stops completely before the test's other resources go away."""
    running = Node(node_settings(servers, DRAIN_TIMEOUT="5"))
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(running.run)
        yield RunningNode(running, addresses)
        running.request_shutdown()


@pytest.fixture
def autojump() -> trio.testing.MockClock:
    """Virtual time for tests that also do real socket I/O (a node, PostgreSQL, Redis).

    ``autojump_clock`` jumps the moment every task is blocked, which includes tasks waiting
    on a socket; this clock jumps only after 50 ms of real quiet, so I/O completes first and
    timers (typing expiry, idle rooms, heartbeats, token expiry) then fire at once.
    """
    return trio.testing.MockClock(autojump_threshold=0.05)
