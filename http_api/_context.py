"""What the handlers need from the node, reachable from the running app."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from quart import current_app

from storage import Storage


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests allowed per sliding window: (limit, window in seconds)."""

    auth: tuple[int, float] = (20, 300.0)  # /api/auth/*: per IP, and per account
    nda: tuple[int, float] = (50, 60.0)  # NDA routes: per user
    general: tuple[int, float] = (200, 60.0)  # everything else: per user, else per IP
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class AppDeps:
    storage: Storage
    node_id: str
    allowed_origins: tuple[str, ...]
    # Signs access tokens; every node of a deployment must share it. The default suits
    # a single throwaway app (tests); a node passes its configured secret.
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # The WebSocket listener's port, asked at request time (it may be bound after the app
    # is built); None: no WebSocket listener.
    ws_port: Callable[[], int] | None = None
    rate_limits: RateLimits = RateLimits()
    list_cache_ttl: int = 30  # seconds the public list and browse pages are cached
    # The node's Prometheus registry, served at /metrics (None: /metrics is 404).
    metrics_registry: CollectorRegistry | None = None
    # The node's own readiness beyond PostgreSQL and Redis: name -> problem, or None when
    # fine (e.g. "bus": "reconnecting", "node": "draining"). /ready is 503 on any problem.
    readiness: Callable[[], dict[str, str | None]] | None = None


def deps() -> AppDeps:
    """The dependencies of the app serving the current request."""
    return current_app.extensions["pitchey"]
