"""Credentials every node must agree on: the access-token format and WebSocket tickets.

Access tokens are HS256 JWTs signed with ``JWT_SECRET``:
``{"sub": "<user id>", "typ": "<user type>", "ver": <token version>, "iat", "exp", "jti"}``.
A token is valid while unexpired *and* while ``ver`` equals the user's ``token_version``
column (bumping it revokes every token of that user); the version check needs the
database, so it is the caller's job (see :func:`token_version_matches`).

WebSocket tickets are opaque, single-use and short-lived: the HTTP API stores one in Redis
(``GET /api/ws/token``) and the WebSocket server consumes it atomically (``GETDEL``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import asyncpg
import jwt

from ._service import Storage

ACCESS_TOKEN_TTL = 15 * 60
WS_TICKET_TTL = 60
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is malformed, badly signed or expired (the message says which)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    user_type: str
    token_version: int
    expires_at: float  # seconds since the epoch


def issue_access_token(
    secret: str,
    *,
    user_id: int,
    user_type: str,
    token_version: int,
    ttl: int = ACCESS_TOKEN_TTL,
    now: float | None = None,
) -> tuple[str, AccessClaims]:
    """A signed access token and the claims it carries."""
    issued = int(now if now is not None else time.time())
    claims = AccessClaims(user_id, user_type, token_version, float(issued + ttl))
    payload = {
        "sub": str(user_id),
        "typ": user_type,
        "ver": token_version,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM), claims


def verify_access_token(secret: str, token: str, *, now: float | None = None) -> AccessClaims:
    """The claims of a well-formed, correctly signed, unexpired token, else InvalidToken."""
    options = {"require": ["sub", "typ", "ver", "exp", "iat"], "verify_exp": now is None}
    try:
        payload = jwt.decode(token, secret, algorithms=[_ALGORITHM], options=options)
        claims = AccessClaims(
            int(payload["sub"]), str(payload["typ"]), int(payload["ver"]), float(payload["exp"])
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        raise InvalidToken("token invalid") from None
    if now is not None and claims.expires_at <= now:
        raise InvalidToken("token expired")
    return claims


async def token_version_matches(storage: Storage, claims: AccessClaims) -> bool:
    """True while the user exists and has not revoked tokens of this version."""

    async def current(conn: asyncpg.Connection) -> int | None:
        return await conn.fetchval("SELECT token_version FROM users WHERE id = $1", claims.user_id)

    return await storage.connection(current) == claims.token_version


async def create_ws_ticket(storage: Storage, user_id: int, *, ttl: int = WS_TICKET_TTL) -> str:
    """Store a single-use ticket for ``user_id`` valid ``ttl`` seconds; return it."""
    ticket = secrets.token_urlsafe(32)
    key = storage.key("ws-ticket", ticket)
    await storage.redis(lambda client: client.set(key, str(user_id), ex=ttl))
    return ticket


async def consume_ws_ticket(storage: Storage, ticket: str) -> int | None:
    """The user id of a valid ticket, which is used up by this call; None if unknown."""
    if not ticket or len(ticket) > 128:
        return None
    key = storage.key("ws-ticket", ticket)
    value = await storage.redis(lambda client: client.getdel(key))
    return int(value) if value is not None else None
