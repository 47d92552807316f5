"""Shard leases: PostgreSQL session advisory locks held on one dedicated connection.

A node that holds lock ``(namespace, shard)`` owns that shard (for the NDA workflow: it
drives the timers of the NDAs in it). PostgreSQL releases a session lock when its
connection ends, so when a node dies (process gone, connection reset) its shards become
free at once and another node's next :meth:`ShardLease.acquire` takes them.

The connection is taken from the pool for as long as the lease is open (one pool slot).
Each ``acquire`` is one bridge crossing that both proves the connection (and so every lock
held on it) is alive and tries the shards not yet held. If the connection broke, the
locks are gone with it: ``acquire`` raises :class:`LeaseLost` and ``held`` is empty; the
next call starts over on a fresh connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import structlog
import trio

from ._errors import StorageError, StorageUnavailable
from ._service import Storage

log = structlog.get_logger("storage.leases")


class LeaseLost(StorageError):
    """The lease connection failed: every shard it held is lost."""


class ShardLease:
    """Advisory locks ``(namespace, shard)`` held by this node; see the module docstring."""

    def __init__(self, storage: Storage, namespace: int) -> None:
        self._storage = storage
        self.namespace = namespace
        self._conn: Any = None
        self._held: set[int] = set()

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    async def acquire(self, shards: Iterable[int]) -> frozenset[int]:
        """Check the connection and try every shard in ``shards`` not yet held; return the
        ones newly acquired. ``LeaseLost`` if the connection (and so every lock) is gone."""
        wanted = sorted(set(shards) - self._held)
        try:
            got = await self._storage.run_aio(self._try_locks, wanted)
        except Exception as exc:  # any failure on it (asyncpg's internal ones too): lost
            self._held.clear()
            await self._discard()
            raise LeaseLost(f"shard lease connection lost: {exc}") from exc
        self._held.update(got)
        return frozenset(got)

    async def _try_locks(self, wanted: list[int]) -> list[int]:
        if self._conn is None or self._conn.is_closed():
            self._held.clear()
            self._conn = await self._storage.aio_pool.acquire()
        rows = await self._conn.fetch(
            "SELECT s FROM unnest($2::int[]) AS s WHERE pg_try_advisory_lock($1, s)",
            self.namespace,
            wanted,
        )
        return [r["s"] for r in rows]

    async def release_all(self) -> None:
        """Give every shard back and return the connection to the pool (bounded)."""
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        pool = self._storage.aio_pool

        async def release() -> None:
            try:
                await conn.execute("SELECT pg_advisory_unlock_all()")
                await pool.release(conn)
            except Exception:
                conn.terminate()  # the locks go with the connection

        with trio.CancelScope(shield=True), trio.move_on_after(5):
            try:
                await self._storage.run_aio(release)
            except StorageUnavailable as exc:
                log.warning("lease_release_failed", error=str(exc))

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return

        async def drop() -> None:
            conn.terminate()
            await self._storage.aio_pool.release(conn)

        with trio.CancelScope(shield=True), trio.move_on_after(5):
            try:
                await self._storage.run_aio(drop)
            except Exception as exc:  # already broken: nothing more to give back
                log.debug("lease_discard_failed", error=str(exc))


@asynccontextmanager
async def open_shard_lease(storage: Storage, namespace: int) -> AsyncIterator[ShardLease]:
    """A :class:`ShardLease` whose locks are all released when the block exits."""
    lease = ShardLease(storage, namespace)
    try:
        yield lease
    finally:
        await lease.release_all()
