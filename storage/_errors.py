"""Storage exceptions, and the one place where driver errors become ours.

    StorageError
    ├── StorageUnavailable      the database or Redis cannot be reached right now
    ├── IntegrityViolation      a constraint refused the write
    │   └── UniqueViolation     ... because the row already exists (``constraint`` names it)
    ├── SerializationFailure    a concurrent transaction won; retrying may succeed
    ├── MigrationError          a migration file failed or the history is inconsistent
    ├── LeaseLost               a shard lease's session is gone (``storage._leases``)
    └── EmbeddedServerError     an embedded PostgreSQL or Redis could not be started

Callers outside ``storage/`` catch these and never see asyncpg or redis-py types.
"""

from __future__ import annotations

import asyncpg
import redis.exceptions


class StorageError(Exception):
    """Base class of every error raised by ``storage``."""


class StorageUnavailable(StorageError):
    """The database or Redis did not answer; the operation may be retried later."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(f"{dependency} unavailable: {message}")
        self.dependency = dependency


class IntegrityViolation(StorageError):
    """A constraint refused the write."""

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class UniqueViolation(IntegrityViolation):
    """The row already exists; ``constraint`` names the unique index that said so."""


class SerializationFailure(StorageError):
    """A concurrent transaction won (serialization failure or deadlock)."""


class MigrationError(StorageError):
    """A migration could not be applied."""


class EmbeddedServerError(StorageError):
    """An embedded server could not be started or stopped."""


_UNAVAILABLE_PG = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    TimeoutError,
)
_UNAVAILABLE_REDIS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
)


def map_driver_error(exc: BaseException) -> BaseException:
    """Return the ``storage`` exception for a driver exception (or ``exc`` itself).

    Order matters: asyncpg's UniqueViolationError is also an IntegrityConstraintViolationError.
    """
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return UniqueViolation(str(exc), constraint=exc.constraint_name)
    if isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError):
        return IntegrityViolation(str(exc), constraint=getattr(exc, "constraint_name", None))
    if isinstance(
        exc,
        asyncpg.exceptions.SerializationError | asyncpg.exceptions.DeadlockDetectedError,
    ):
        return SerializationFailure(str(exc))
    if isinstance(exc, _UNAVAILABLE_REDIS):
        return StorageUnavailable("redis", str(exc) or type(exc).__name__)
    if isinstance(exc, _UNAVAILABLE_PG):
        return StorageUnavailable("postgres", str(exc) or type(exc).__name__)
    if isinstance(exc, redis.exceptions.RedisError):
        return StorageError(f"redis: {exc}")
    if isinstance(exc, asyncpg.exceptions.PostgresError):
        return StorageError(f"postgres: {exc}")
    return exc
