"""Likes, saves, views and follows, with the pitch counters kept exact.

A counter moves only when the row that it counts was actually inserted or deleted, in the
same transaction, and the counter update takes the pitch's row lock; so concurrent likes
serialise on the counter and none is lost or counted twice.

A new like notifies the pitch's owner (``pitch_liked``) and a new follow the followed user
(``new_follower``), in the same transaction; liking again after an unlike does not notify
twice while the first notification is still unread. The caller publishes the returned
notification after commit.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import asyncpg

from ._notifications import NotificationRecord, insert_notification
from ._service import Storage


class Engagement(enum.Enum):
    LIKE = ("pitch_likes", "like_count")
    SAVE = ("pitch_saves", "save_count")


@dataclass(frozen=True, slots=True)
class Counted:
    changed: bool  # False: it was already so (liked twice, unliked when not liked)
    count: int
    notification: NotificationRecord | None = None  # to publish once committed


async def set_engagement(
    storage: Storage, kind: Engagement, user_id: int, pitch_id: int, *, on: bool
) -> Counted | None:
    """Like/save (``on``) or undo it; the pitch's new count. None if there is no such
    pitch visible to the user (published, or theirs to edit)."""
    table, counter = kind.value

    async def apply(conn: asyncpg.Connection) -> Counted | None:
        if not await _visible(conn, pitch_id, user_id):
            return None
        if on:
            changed = await conn.fetchval(
                f"INSERT INTO {table} (user_id, pitch_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING true",
                user_id,
                pitch_id,
            )
        else:
            changed = await conn.fetchval(
                f"DELETE FROM {table} WHERE user_id = $1 AND pitch_id = $2 RETURNING true",
                user_id,
                pitch_id,
            )
        step = (1 if on else -1) if changed else 0
        count = await conn.fetchval(
            f"UPDATE pitches SET {counter} = {counter} + $2 WHERE id = $1 RETURNING {counter}"
            if step
            else f"SELECT {counter} FROM pitches WHERE id = $1",
            pitch_id,
            *((step,) if step else ()),
        )
        if count is None:
            return None
        notice = None
        if changed and on and kind is Engagement.LIKE:
            notice = await _notify_like(conn, pitch_id, user_id)
        return Counted(bool(changed), count, notice)

    return await storage.transaction(apply)


async def _notify_like(
    conn: asyncpg.Connection, pitch_id: int, liker_id: int
) -> NotificationRecord | None:
    row = await conn.fetchrow(
        "SELECT p.owner_id, p.title, u.username FROM pitches p, users u "
        "WHERE p.id = $1 AND u.id = $2",
        pitch_id,
        liker_id,
    )
    if row is None or row["owner_id"] == liker_id:
        return None
    data = {"pitchId": pitch_id, "userId": liker_id}
    if await _unread(conn, row["owner_id"], "pitch_liked", data):
        return None
    return await insert_notification(
        conn,
        row["owner_id"],
        "pitch_liked",
        f"{row['username']} liked your pitch",
        row["title"],
        data,
    )


async def _unread(conn: asyncpg.Connection, user_id: int, kind: str, data: dict[str, int]) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM notifications WHERE user_id = $1 AND kind = $2 "
            "AND read_at IS NULL AND data @> $3::jsonb LIMIT 1",
            user_id,
            kind,
            json.dumps(data),
        )
    )


async def record_view(storage: Storage, pitch_id: int, viewer_id: int) -> Counted | None:
    """Count a view at most once per viewer, pitch and (database) day. None if there is
    no such pitch visible to the viewer."""

    async def apply(conn: asyncpg.Connection) -> Counted | None:
        if not await _visible(conn, pitch_id, viewer_id):
            return None
        inserted = await conn.fetchval(
            "INSERT INTO pitch_views (pitch_id, viewer_id) VALUES ($1, $2) "
            "ON CONFLICT ON CONSTRAINT pitch_views_pitch_viewer_date_key DO NOTHING "
            "RETURNING true",
            pitch_id,
            viewer_id,
        )
        if inserted:
            count = await conn.fetchval(
                "UPDATE pitches SET view_count = view_count + 1 WHERE id = $1 RETURNING view_count",
                pitch_id,
            )
        else:
            count = await conn.fetchval("SELECT view_count FROM pitches WHERE id = $1", pitch_id)
        return None if count is None else Counted(bool(inserted), count)

    return await storage.transaction(apply)


async def set_follow(
    storage: Storage, follower_id: int, followed_id: int, *, on: bool
) -> Counted | None:
    """Follow (``on``) or unfollow; the followed user's follower count. None if no such
    user. Following oneself is refused by the schema (IntegrityViolation)."""

    async def apply(conn: asyncpg.Connection) -> Counted | None:
        # Lock the followed user's row so concurrent follows count exactly.
        exists = await conn.fetchval("SELECT true FROM users WHERE id = $1 FOR UPDATE", followed_id)
        if not exists:
            return None
        if on:
            changed = await conn.fetchval(
                "INSERT INTO follows (follower_id, followed_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING true",
                follower_id,
                followed_id,
            )
        else:
            changed = await conn.fetchval(
                "DELETE FROM follows WHERE follower_id = $1 AND followed_id = $2 RETURNING true",
                follower_id,
                followed_id,
            )
        count = await conn.fetchval(
            "SELECT count(*) FROM follows WHERE followed_id = $1", followed_id
        )
        notice = None
        if changed and on:
            data = {"userId": follower_id}
            if not await _unread(conn, followed_id, "new_follower", data):
                name = await conn.fetchval("SELECT username FROM users WHERE id = $1", follower_id)
                notice = await insert_notification(
                    conn, followed_id, "new_follower", f"{name} started following you", "", data
                )
        return Counted(bool(changed), count, notice)

    return await storage.transaction(apply)


async def _visible(conn: asyncpg.Connection, pitch_id: int, user_id: int) -> bool:
    return bool(
        await conn.fetchval(
            """
            SELECT p.status = 'published' OR p.owner_id = $2
                   OR EXISTS (SELECT 1 FROM pitch_collaborators c
                               WHERE c.pitch_id = p.id AND c.user_id = $2)
              FROM pitches p WHERE p.id = $1
            """,
            pitch_id,
            user_id,
        )
    )
