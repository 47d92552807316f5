"""Storage as configured: the named servers, or embedded ones started for the purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from storage import EmbeddedServers, Storage, open_storage

from ._settings import Settings


@asynccontextmanager
async def open_configured_storage(
    settings: Settings, *, pool_size: int | None = None
) -> AsyncIterator[Storage]:
    """Start the embedded servers that are not configured, open storage on them, and stop
    them (last, and only if no other node still uses them) on exit."""
    embedded = EmbeddedServers.for_missing(
        settings.data_dir,
        database=settings.database_url is None,
        redis=settings.redis_url is None,
    )
    await trio.to_thread.run_sync(embedded.start)
    try:
        database_url = settings.database_url or embedded.database_url
        redis_url = settings.redis_url or embedded.redis_url
        assert database_url is not None and redis_url is not None
        async with open_storage(
            database_url,
            redis_url,
            pool_size=pool_size or settings.database_pool_size,
            key_prefix=settings.redis_key_prefix,
        ) as storage:
            yield storage
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(embedded.stop)
