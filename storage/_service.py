"""The storage service: one trio-asyncio loop, one asyncpg pool, one Redis client.

Trio code gets a :class:`Storage` from :func:`open_storage` and never sees asyncio.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import redis.asyncio as aioredis
import structlog
import trio
import trio_asyncio
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ._bridge import call_aio
from ._errors import StorageError, StorageUnavailable

log = structlog.get_logger("storage")

P = ParamSpec("P")
T = TypeVar("T")

CHECK_TIMEOUT = 2.0
CONNECT_DEADLINE = 30.0
REDIS_MAX_CONNECTIONS = 64  # per node; the bus and domain events hold one each for good
REDIS_POOL_WAIT = 5.0  # seconds a command may wait for a free connection


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    """How one dependency answered a readiness probe."""

    name: str
    ok: bool
    latency_ms: float
    error: str | None = None


class Storage:
    """Trio-facing handle on PostgreSQL and Redis.

    ``transaction`` and ``redis`` run a whole unit of work on the asyncio side in one
    crossing. Redis keys and channels of this deployment live under ``key_prefix``.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        *,
        key_prefix: str,
        loop: trio_asyncio.TrioEventLoop,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._loop = loop
        self._scripts: dict[str, Any] = {}
        self.key_prefix = key_prefix
        # Called with the seconds each room-log publish took (metrics); a no-op by default.
        self.observe_publish: Callable[[float], None] = _ignore

    @property
    def aio_pool(self) -> asyncpg.Pool:
        """The asyncpg pool, for asyncio-side code inside ``storage/`` only."""
        return self._pool

    @property
    def aio_redis(self) -> aioredis.Redis:
        """The redis-py client, for asyncio-side code inside ``storage/`` only."""
        return self._redis

    def script(self, source: str) -> Any:
        """A registered Lua script (EVALSHA with a fallback to EVAL), made once per source."""
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = self._redis.register_script(source)
        return found

    def pool_stats(self) -> tuple[int, int, int]:
        """The PostgreSQL pool's (connections open, of them idle, maximum size)."""
        pool = self._pool
        return pool.get_size(), pool.get_idle_size(), pool.get_max_size()

    def with_key_prefix(self, key_prefix: str) -> Storage:
        """The same connections, another Redis key space (deployments sharing a Redis)."""
        return Storage(self._pool, self._redis, key_prefix=key_prefix, loop=self._loop)

    async def run_aio(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run an asyncio coroutine function on this storage's loop (one bridge crossing)."""
        return await call_aio(fn, *args, loop=self._loop, **kwargs)

    def key(self, *parts: str | int) -> str:
        """A Redis key (or channel) name in this deployment's key space."""
        return self.key_prefix + ":".join(str(p) for p in parts)

    async def transaction(
        self,
        fn: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, *args)`` in one PostgreSQL transaction, in one bridge crossing."""

        async def unit() -> T:
            async with self._pool.acquire() as conn, conn.transaction():
                return await fn(conn, *args, **kwargs)

        return await self.run_aio(unit)

    async def connection(
        self,
        fn: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, *args)`` on one pooled connection, managing transactions itself."""

        async def unit() -> T:
            async with self._pool.acquire() as conn:
                return await fn(conn, *args, **kwargs)

        return await self.run_aio(unit)

    async def redis(
        self,
        fn: Callable[Concatenate[aioredis.Redis, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(client, *args)`` against Redis (use a pipeline inside for several commands)."""
        return await self.run_aio(fn, self._redis, *args, **kwargs)

    async def check(self) -> list[DependencyStatus]:
        """Probe PostgreSQL and Redis concurrently, each within ``CHECK_TIMEOUT`` seconds."""
        results: dict[str, DependencyStatus] = {}

        async def probe(name: str, call: Callable[[], Awaitable[Any]]) -> None:
            started = time.perf_counter()
            error: str | None = "timed out"
            with trio.move_on_after(CHECK_TIMEOUT):
                try:
                    await self.run_aio(call)
                    error = None
                except StorageError as exc:
                    error = str(exc)
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            results[name] = DependencyStatus(name, error is None, elapsed, error)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(probe, "postgres", lambda: self._pool.fetchval("SELECT 1"))
            nursery.start_soon(probe, "redis", self._redis.ping)
        return [results["postgres"], results["redis"]]


def _ignore(_: float) -> None:
    pass


@asynccontextmanager
async def open_storage(
    database_url: str,
    redis_url: str,
    *,
    pool_size: int = 10,
    key_prefix: str = "pitchey:",
    connect_deadline: float = CONNECT_DEADLINE,
) -> AsyncIterator[Storage]:
    """Open the asyncio loop, the pool and the Redis client; close them all on exit.

    Waits up to ``connect_deadline`` seconds for PostgreSQL to accept connections (a database
    still starting up), then raises :class:`StorageUnavailable`.
    """
    with collapse_single_error():
        async with trio_asyncio.open_loop() as loop:
            pool = await _create_pool(database_url, pool_size, connect_deadline, loop)
            # A blocking pool: past REDIS_MAX_CONNECTIONS commands in flight, callers wait
            # (up to REDIS_POOL_WAIT s) for a connection instead of failing at once.
            client = aioredis.Redis.from_pool(  # the client owns (and closes) the pool
                aioredis.BlockingConnectionPool.from_url(
                    redis_url,
                    max_connections=REDIS_MAX_CONNECTIONS,
                    timeout=REDIS_POOL_WAIT,
                    socket_connect_timeout=2.0,
                    socket_timeout=10.0,
                    health_check_interval=15,
                    retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=2),
                )
            )
            try:
                yield Storage(pool, client, key_prefix=key_prefix, loop=loop)
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    await call_aio(client.aclose, loop=loop)
                    await call_aio(pool.close, loop=loop)


@contextmanager
def collapse_single_error() -> Iterator[None]:
    """Re-raise the one exception inside an ExceptionGroup made by trio-asyncio's loop.

    ``open_loop`` runs its body inside nurseries of its own, so any exception leaving it,
    including one raised by the caller's ``async with`` body, arrives wrapped. Those
    nurseries are an implementation detail: a group of exactly one exception is unwrapped;
    a group of several (real concurrent failures) propagates as it is.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


async def _create_pool(
    url: str, size: int, deadline: float, loop: trio_asyncio.TrioEventLoop
) -> asyncpg.Pool:
    delay = 0.1
    with trio.move_on_after(deadline):
        while True:
            try:
                return await call_aio(
                    asyncpg.create_pool,
                    url,
                    min_size=1,
                    max_size=size,
                    command_timeout=30,
                    max_inactive_connection_lifetime=300,
                    loop=loop,
                )
            except StorageUnavailable as exc:
                log.warning("postgres_not_ready", error=str(exc), retry_in=delay)
            await trio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise StorageUnavailable("postgres", f"no connection within {deadline:.0f}s")
