"""Accounts: creating users, reading them, profiles, follows counts and the login lockout.

The lockout lives in ``users.failed_login_count`` and ``users.locked_until`` so every node
agrees: each failure increments the counter in one statement, and the failure that reaches
the limit sets ``locked_until`` and starts the count again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ._service import Storage

LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60

_USER_COLUMNS = """
    u.id, u.email, u.username, u.password_hash, u.user_type, u.first_name, u.last_name,
    u.company_name, u.bio, u.location, u.avatar_url, u.email_notifications,
    u.muted_notification_kinds, u.token_version, u.failed_login_count, u.locked_until,
    u.last_login_at, u.created_at
"""
# Profile fields a user may change about themselves (column names).
PROFILE_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "company_name",
        "bio",
        "location",
        "avatar_url",
        "email_notifications",
        "muted_notification_kinds",
    }
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    username: str
    password_hash: str
    user_type: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    bio: str | None
    location: str | None
    avatar_url: str | None
    email_notifications: bool
    muted_notification_kinds: list[str]
    token_version: int
    failed_login_count: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PublicProfile:
    user: UserRecord
    follower_count: int
    following_count: int
    pitch_count: int
    is_followed: bool  # by the viewer who asked


@dataclass(frozen=True, slots=True)
class LoginFailure:
    failed_count: int
    locked_until: datetime | None  # set when this failure locked the account


def user_from_row(row: asyncpg.Record) -> UserRecord:
    values = dict(row)
    values["muted_notification_kinds"] = list(values["muted_notification_kinds"] or [])
    return UserRecord(**{name: values[name] for name in UserRecord.__slots__})


async def create_user(
    storage: Storage,
    *,
    email: str,
    username: str,
    password_hash: str,
    user_type: str,
    first_name: str | None = None,
    last_name: str | None = None,
    company_name: str | None = None,
) -> UserRecord:
    """Insert a user; a taken email or username raises UniqueViolation naming the index
    (``users_email_lower_key`` or ``users_username_lower_key``)."""

    async def insert(conn: asyncpg.Connection) -> UserRecord:
        row = await conn.fetchrow(
            f"""
            INSERT INTO users AS u (email, username, password_hash, user_type,
                                    first_name, last_name, company_name)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING {_USER_COLUMNS}
            """,
            email,
            username,
            password_hash,
            user_type,
            first_name,
            last_name,
            company_name,
        )
        return user_from_row(row)

    return await storage.transaction(insert)


async def get_user(storage: Storage, user_id: int) -> UserRecord | None:
    async def fetch(conn: asyncpg.Connection) -> UserRecord | None:
        row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1", user_id)
        return user_from_row(row) if row else None

    return await storage.connection(fetch)


async def find_user_by_email(storage: Storage, email: str) -> UserRecord | None:
    """The user with this email, compared case-insensitively."""

    async def fetch(conn: asyncpg.Connection) -> UserRecord | None:
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users u WHERE lower(u.email) = lower($1)", email
        )
        return user_from_row(row) if row else None

    return await storage.connection(fetch)


async def get_public_profile(
    storage: Storage, user_id: int, viewer_id: int | None
) -> PublicProfile | None:
    """A user with follower, following and published-pitch counts, in one query."""

    async def fetch(conn: asyncpg.Connection) -> PublicProfile | None:
        row = await conn.fetchrow(
            f"""
            SELECT {_USER_COLUMNS},
                   (SELECT count(*) FROM follows WHERE followed_id = u.id) AS follower_count,
                   (SELECT count(*) FROM follows WHERE follower_id = u.id) AS following_count,
                   (SELECT count(*) FROM pitches
                     WHERE owner_id = u.id AND status = 'published') AS pitch_count,
                   EXISTS (SELECT 1 FROM follows
                            WHERE follower_id = $2 AND followed_id = u.id) AS is_followed
              FROM users u WHERE u.id = $1
            """,
            user_id,
            viewer_id,
        )
        if row is None:
            return None
        return PublicProfile(
            user_from_row(row),
            row["follower_count"],
            row["following_count"],
            row["pitch_count"],
            row["is_followed"],
        )

    return await storage.connection(fetch)


async def update_profile(storage: Storage, user_id: int, changes: dict[str, Any]) -> UserRecord:
    """Set the given profile columns (keys from ``PROFILE_COLUMNS``); returns the user."""
    unknown = set(changes) - PROFILE_COLUMNS
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")

    async def update(conn: asyncpg.Connection) -> UserRecord:
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
        sql = f"UPDATE users u SET {assignments} WHERE u.id = $1 RETURNING {_USER_COLUMNS}"
        if not names:
            sql = f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1"
        row = await conn.fetchrow(sql, user_id, *(changes[name] for name in names))
        return user_from_row(row)

    return await storage.transaction(update)


async def change_password(storage: Storage, user_id: int, password_hash: str) -> UserRecord:
    """Store a new password hash, bump the token version (every access token of the user
    stops working) and revoke every refresh token, in one transaction."""

    async def change(conn: asyncpg.Connection) -> UserRecord:
        row = await conn.fetchrow(
            f"""
            UPDATE users u SET password_hash = $2, token_version = token_version + 1
             WHERE u.id = $1 RETURNING {_USER_COLUMNS}
            """,
            user_id,
            password_hash,
        )
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() "
            "WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
        return user_from_row(row)

    return await storage.transaction(change)


async def record_login_failure(
    storage: Storage,
    user_id: int,
    *,
    max_failures: int = LOCKOUT_FAILURES,
    lock_seconds: int = LOCKOUT_SECONDS,
) -> LoginFailure:
    """Count a failed password; the ``max_failures``-th in a row locks the account for
    ``lock_seconds`` (and resets the count, so the next lock needs as many failures)."""

    async def fail(conn: asyncpg.Connection) -> LoginFailure:
        row = await conn.fetchrow(
            """
            UPDATE users SET
                failed_login_count = CASE WHEN failed_login_count + 1 >= $2 THEN 0
                                          ELSE failed_login_count + 1 END,
                locked_until = CASE WHEN failed_login_count + 1 >= $2
                                    THEN now() + make_interval(secs => $3)
                                    ELSE locked_until END
             WHERE id = $1
            RETURNING failed_login_count, locked_until,
                      (failed_login_count = 0) AS just_locked
            """,
            user_id,
            max_failures,
            lock_seconds,
        )
        locked = row["locked_until"] if row["just_locked"] else None
        return LoginFailure(max_failures if locked else row["failed_login_count"], locked)

    return await storage.transaction(fail)


async def bump_token_version(storage: Storage, user_id: int) -> int:
    """Revoke every access token of the user (and every refresh token); the new version."""

    async def bump(conn: asyncpg.Connection) -> int:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() "
            "WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
        return await conn.fetchval(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1 "
            "RETURNING token_version",
            user_id,
        )

    return await storage.transaction(bump)
