"""PostgreSQL and Redis behind trio-native interfaces.

The only package that imports asyncio, asyncpg, redis-py or trio-asyncio.
"""

from ._admin import create_database, database_url, delete_prefix, drop_database
from ._embedded import EmbeddedServers
from ._embedded_postgres import EmbeddedPostgres
from ._embedded_redis import EmbeddedRedis
from ._errors import (
    EmbeddedServerError,
    IntegrityViolation,
    MigrationError,
    SerializationFailure,
    StorageError,
    StorageUnavailable,
    UniqueViolation,
)
from ._migrations import apply_migrations, load_migrations
from ._seed import SeedPitch, SeedResult, SeedUser, seed
from ._service import DependencyStatus, Storage, open_storage

__all__ = [
    "DependencyStatus",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "EmbeddedServers",
    "IntegrityViolation",
    "MigrationError",
    "SeedPitch",
    "SeedResult",
    "SeedUser",
    "SerializationFailure",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "UniqueViolation",
    "apply_migrations",
    "create_database",
    "database_url",
    "delete_prefix",
    "drop_database",
    "load_migrations",
    "open_storage",
    "seed",
]
