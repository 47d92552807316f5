"""PostgreSQL and Redis behind trio-native interfaces.

The only package that imports asyncio, asyncpg, redis-py or trio-asyncio.
"""

from ._admin import create_database, database_url, delete_prefix, drop_database
from ._credentials import (
    ACCESS_TOKEN_TTL,
    WS_TICKET_TTL,
    AccessClaims,
    InvalidToken,
    consume_ws_ticket,
    create_ws_ticket,
    issue_access_token,
    token_version_matches,
    verify_access_token,
)
from ._domain_events import DomainEvent, open_domain_events, publish_domain_event
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
    "ACCESS_TOKEN_TTL",
    "WS_TICKET_TTL",
    "AccessClaims",
    "DependencyStatus",
    "DomainEvent",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "EmbeddedServers",
    "IntegrityViolation",
    "InvalidToken",
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
    "consume_ws_ticket",
    "create_database",
    "create_ws_ticket",
    "database_url",
    "delete_prefix",
    "drop_database",
    "issue_access_token",
    "load_migrations",
    "open_domain_events",
    "open_storage",
    "publish_domain_event",
    "seed",
    "token_version_matches",
    "verify_access_token",
]
