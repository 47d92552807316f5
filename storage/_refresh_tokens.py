"""Refresh tokens: opaque, stored as SHA-256 hashes, rotated on every use.

A login starts a *family* (``family_id``); each refresh marks the presented token rotated
and issues its successor in the same family. Presenting a token that was already rotated
or revoked means it leaked (or was replayed): the whole family is revoked, so the thief's
and the owner's successors stop working alike.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from ._service import Storage
from ._users import UserRecord, user_from_row

REFRESH_TOKEN_TTL = 7 * 24 * 3600


class RefreshOutcome(enum.Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"  # never issued, or malformed
    EXPIRED = "expired"
    REUSED = "reused"  # already rotated or revoked: the family is now revoked


@dataclass(frozen=True, slots=True)
class Refreshed:
    outcome: RefreshOutcome
    user: UserRecord | None = None
    token: str | None = None  # the successor, when rotated


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start_session(
    storage: Storage,
    user_id: int,
    *,
    ip: str | None,
    user_agent: str | None,
    ttl: int = REFRESH_TOKEN_TTL,
) -> str:
    """After a successful login: reset the failure count, note the login time and issue
    the first refresh token of a new family, in one transaction. Returns the token."""
    token = secrets.token_urlsafe(32)

    async def start(conn: asyncpg.Connection) -> None:
        await conn.execute(
            "UPDATE users SET failed_login_count = 0, locked_until = NULL, "
            "last_login_at = now() WHERE id = $1",
            user_id,
        )
        await _insert(conn, user_id, uuid.uuid4(), token, ip, user_agent, ttl)

    await storage.transaction(start)
    return token


async def rotate_refresh_token(
    storage: Storage,
    token: str,
    *,
    ip: str | None,
    user_agent: str | None,
    ttl: int = REFRESH_TOKEN_TTL,
) -> Refreshed:
    """Exchange a refresh token for its successor (see the module docstring)."""
    successor = secrets.token_urlsafe(32)

    async def rotate(conn: asyncpg.Connection) -> Refreshed:
        row = await conn.fetchrow(
            """
            SELECT id, user_id, family_id, expires_at <= now() AS expired,
                   rotated_at IS NOT NULL OR revoked_at IS NOT NULL AS used
              FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE
            """,
            hash_refresh_token(token),
        )
        if row is None:
            return Refreshed(RefreshOutcome.UNKNOWN)
        if row["used"]:
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = now() "
                "WHERE family_id = $1 AND revoked_at IS NULL",
                row["family_id"],
            )
            return Refreshed(RefreshOutcome.REUSED)
        if row["expired"]:
            return Refreshed(RefreshOutcome.EXPIRED)
        await conn.execute("UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1", row["id"])
        await _insert(conn, row["user_id"], row["family_id"], successor, ip, user_agent, ttl)
        user = await conn.fetchrow("SELECT * FROM users WHERE id = $1", row["user_id"])
        return Refreshed(RefreshOutcome.ROTATED, user_from_row(user), successor)

    return await storage.transaction(rotate)


async def revoke_refresh_family(storage: Storage, token: str) -> int | None:
    """Revoke the family of ``token`` (logout on this device); its user id, if known."""

    async def revoke(conn: asyncpg.Connection) -> int | None:
        row = await conn.fetchrow(
            "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1",
            hash_refresh_token(token),
        )
        if row is None:
            return None
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() "
            "WHERE family_id = $1 AND revoked_at IS NULL",
            row["family_id"],
        )
        return row["user_id"]

    return await storage.transaction(revoke)


async def _insert(
    conn: asyncpg.Connection,
    user_id: int,
    family_id: uuid.UUID,
    token: str,
    ip: str | None,
    user_agent: str | None,
    ttl: int,
) -> None:
    await conn.execute(
        """
        INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, ip, user_agent)
        VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
        """,
        user_id,
        family_id,
        hash_refresh_token(token),
        ttl,
        ip,
        (user_agent or "")[:500] or None,
    )
