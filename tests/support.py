"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from realtime import Node, NodeAddresses, Settings, load_settings


@dataclass(frozen=True)
class Servers:
    """Where this test run's data lives."""

    server_url: str  # the PostgreSQL server (its default database)
    database_url: str  # this run's own database, migrated
    redis_url: str
    key_prefix: str
    data_dir: Path


JWT_SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_env(servers: Servers, **overrides: str) -> dict[str, str]:
    """Environment for a node (in-process or a subprocess) on this run's servers."""
    env = {
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "REDIS_KEY_PREFIX": servers.key_prefix,
        "JWT_SECRET": JWT_SECRET,
        "PORT": "0",
        "WS_PORT": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
    }
    env.update(overrides)
    return env


def node_settings(servers: Servers, **overrides: str) -> Settings:
    return load_settings(node_env(servers, **overrides))


@dataclass
class RunningNode:
    node: Node
    addresses: NodeAddresses

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.addresses.http_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.addresses.ws_port}/ws"


@dataclass
class TestUser:
    id: int
    token: str
    user_type: str


async def make_user(storage, user_type: str = "investor") -> TestUser:
    """A fresh user straight in PostgreSQL, with an access token the test node accepts."""
    import secrets

    from storage import issue_access_token

    name = f"{user_type}-{secrets.token_hex(5)}"
    user_id = await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO users (email, username, password_hash, user_type, first_name) "
            "VALUES ($1, $2, 'x', $3, $2) RETURNING id",
            f"{name}@example.com",
            name,
            user_type,
        )
    )
    token, _ = issue_access_token(JWT_SECRET, user_id=user_id, user_type=user_type, token_version=0)
    return TestUser(user_id, token, user_type)


async def make_pitch(
    storage, owner: TestUser, *, status: str = "published", require_nda: bool = False
) -> int:
    return await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO pitches (owner_id, title, logline, status, require_nda, "
            "protected_content) VALUES ($1, 'A pitch', 'Logline', $2, $3, "
            '\'{"budgetBreakdown": "secret numbers"}\') RETURNING id',
            owner.id,
            status,
            require_nda,
        )
    )


async def insert_nda(
    storage, owner: TestUser, requester: TestUser, pitch_id: int, **at: str
) -> int:
    """An NDA straight in PostgreSQL; ``status`` and columns given as ``now() + interval``."""
    status = at.pop("status", "pending")

    async def create(conn) -> int:
        nda_id = await conn.fetchval(
            "INSERT INTO ndas (pitch_id, requester_id, owner_id, status, signed_at, expires_at) "
            "VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'signed' THEN now() END, "
            "now() + interval '30 days') RETURNING id",
            pitch_id,
            requester.id,
            owner.id,
            status,
        )
        for column, interval in at.items():
            await conn.execute(
                f"UPDATE ndas SET {column} = now() + $2::text::interval WHERE id = $1",
                nda_id,
                interval,
            )
        return nda_id

    return await storage.transaction(create)
