"""Helpers for the NDA workflow tests: nodes started inside a test, NDAs made in SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from realtime import Node

from support import (  # noqa: F401 (insert_nda: re-exported for the NDA tests)
    RunningNode,
    Servers,
    TestUser,
    insert_nda,
    make_pitch,
    make_user,
    node_settings,
)


@asynccontextmanager
async def running_node(servers: Servers) -> AsyncIterator[RunningNode]:
    """One more node on this run's servers, stopped (drained) when the block exits."""
    node = Node(node_settings(servers, DRAIN_TIMEOUT="1"))
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(node.run)
        try:
            yield RunningNode(node, addresses)
        finally:
            node.request_shutdown()


def auth(user: TestUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def http(node: RunningNode, method: str, path: str, user: TestUser, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=node.http, timeout=10) as client:
        response = await client.request(method, path, headers=auth(user), **kw)
    assert response.status_code < 300, response.text
    return response.json()["data"]


async def parties(storage) -> tuple[TestUser, TestUser, int]:
    """A creator, an investor and a published pitch of the creator's that needs an NDA."""
    owner, requester = await make_user(storage, "creator"), await make_user(storage)
    return owner, requester, await make_pitch(storage, owner, require_nda=True)


async def count(storage, sql: str, *args: Any) -> int:
    return await storage.connection(lambda conn: conn.fetchval(sql, *args))


async def audit_rows(storage, nda_id: int, action: str) -> int:
    return await count(
        storage,
        "SELECT count(*) FROM audit_log WHERE entity_type = 'nda' AND entity_id = $1 "
        "AND action = $2",
        nda_id,
        action,
    )


async def wait_for(predicate: Any, poll: float = 0.05) -> None:
    """Poll ``predicate()`` (sync or async) until true; bound it with ``fail_after``."""
    while True:
        value = predicate()
        if hasattr(value, "__await__"):
            value = await value
        if value:
            return
        await trio.sleep(poll)
