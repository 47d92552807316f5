"""Administrative one-offs that run outside a node: create or drop a database, clear a
Redis key prefix. Each opens its own asyncio loop and connection; do not call them while
``open_storage`` is open in the same trio run."""

from __future__ import annotations

import re

import asyncpg
import redis.asyncio as aioredis
import trio_asyncio

from ._bridge import call_aio

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def database_url(server_url: str, database: str) -> str:
    """``server_url`` with its database name replaced by ``database``."""
    base, _, query = server_url.partition("?")
    scheme, _, rest = base.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")


async def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url``; return its URL."""
    _check_name(name)

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async with trio_asyncio.open_loop():
        await call_aio(create)
    return database_url(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` (closing its other sessions first)."""
    _check_name(name)

    async def drop() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async with trio_asyncio.open_loop():
        await call_aio(drop)


async def delete_prefix(redis_url: str, prefix: str) -> int:
    """Delete every Redis key that starts with ``prefix``; return how many went."""
    if not prefix:
        raise ValueError("refusing to delete every key: empty prefix")

    async def delete() -> int:
        client = aioredis.Redis.from_url(redis_url)
        deleted = 0
        try:
            batch: list[bytes] = []
            async for key in client.scan_iter(match=prefix + "*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    deleted += await client.delete(*batch)
                    batch.clear()
            if batch:
                deleted += await client.delete(*batch)
        finally:
            await client.aclose()
        return deleted

    async with trio_asyncio.open_loop():
        return await call_aio(delete)


def _check_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
