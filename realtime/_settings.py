"""Node configuration, read from the environment once at start.

Every problem is a :class:`ConfigError` naming the variable; the CLI prints it as one line.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

LogFormat = Literal["json", "console"]
LOG_LEVELS = ("debug", "info", "warning", "error")
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A configuration variable is missing or invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    jwt_secret: str | None
    host: str
    port: int
    ws_port: int
    node_id: str
    data_dir: Path
    log_level: str
    log_format: LogFormat
    database_pool_size: int
    allowed_origins: tuple[str, ...]
    redis_key_prefix: str
    drain_timeout: float
    lease_ttl_ms: int = 10_000  # node lease: a dead node's members are gone within ~4/3 of it

    @property
    def embedded(self) -> bool:
        """True when at least one server is started by the node itself."""
        return self.database_url is None or self.redis_url is None

    def with_secret(self, secret: str) -> Settings:
        return dataclasses.replace(self, jwt_secret=secret)


def load_settings(env: Mapping[str, str], *, stdout_is_tty: bool = False) -> Settings:
    """Parse and validate the environment; raise :class:`ConfigError` on the first problem."""

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() else None

    database_url = _url(get("DATABASE_URL"), "DATABASE_URL", ("postgres", "postgresql"))
    redis_url = _url(get("REDIS_URL"), "REDIS_URL", ("redis", "rediss", "unix"))
    jwt_secret = get("JWT_SECRET")
    if jwt_secret is not None and len(jwt_secret) < MIN_SECRET_LENGTH:
        raise ConfigError("JWT_SECRET", f"must be at least {MIN_SECRET_LENGTH} characters")
    if jwt_secret is None and database_url is not None:
        raise ConfigError("JWT_SECRET", "is required when DATABASE_URL names an external database")
    port = _int(get("PORT"), "PORT", 8001, 0, 65535)
    log_format = get("LOG_FORMAT") or ("console" if stdout_is_tty else "json")
    if log_format not in ("json", "console"):
        raise ConfigError("LOG_FORMAT", f"must be json or console, not {log_format!r}")
    log_level = (get("LOG_LEVEL") or "info").lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    host = get("HOST") or "127.0.0.1"
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=jwt_secret,
        host=host,
        port=port,
        ws_port=_int(get("WS_PORT"), "WS_PORT", 8002, 0, 65535),
        node_id=get("NODE_ID") or f"{socket.gethostname()}-{os.getpid()}",
        data_dir=Path(get("PITCHEY_DATA_DIR") or ".pitchey").expanduser().resolve(),
        log_level=log_level,
        log_format=log_format,  # type: ignore[arg-type]
        database_pool_size=_int(get("DATABASE_POOL_SIZE"), "DATABASE_POOL_SIZE", 10, 1, 500),
        allowed_origins=_origins(get("ALLOWED_ORIGINS"), port),
        redis_key_prefix=_prefix(get("REDIS_KEY_PREFIX")),
        drain_timeout=float(_int(get("DRAIN_TIMEOUT"), "DRAIN_TIMEOUT", 30, 0, 3600)),
        lease_ttl_ms=_int(get("NODE_LEASE_TTL_MS"), "NODE_LEASE_TTL_MS", 10_000, 300, 600_000),
    )


def ensure_jwt_secret(settings: Settings) -> Settings:
    """In embedded mode, generate the JWT secret once and keep it in the data folder."""
    if settings.jwt_secret is not None:
        return settings
    path = settings.data_dir / "jwt_secret"
    if path.exists():
        secret = path.read_text().strip()
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret)
    return settings.with_secret(secret)


def _url(value: str | None, name: str, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ConfigError(name, f"must be a URL starting with {' or '.join(schemes)}://")
    return value


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be between {low} and {high}, not {number}")
    return number


def _origins(value: str | None, port: int) -> tuple[str, ...]:
    if value is None:
        return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")
    origins = []
    for item in value.split(","):
        origin = item.strip().rstrip("/")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError("ALLOWED_ORIGINS", f"{origin!r} is not an origin like https://host")
        origins.append(origin)
    return tuple(origins)


def _prefix(value: str | None) -> str:
    if value is None:
        return "pitchey:"
    if any(ch.isspace() for ch in value):
        raise ConfigError("REDIS_KEY_PREFIX", "must not contain spaces")
    return value if value.endswith(":") else value + ":"
