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
        "JWT_SECRET": "test-secret-" + "x" * 40,
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
