"""In-app notifications: created inside other transactions (an NDA transition, a message),
listed, and marked read. After the creating transaction commits, the caller publishes a
``notification`` domain event so the user's connected clients see it at once.

A kind the user muted (``users.muted_notification_kinds``) is stored like any other but
not pushed: ``insert_notification`` decides it in the creating transaction and the event
carries ``muted``, which the realtime relay honours whoever published the event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ._service import Storage

_COLUMNS = "id, user_id, kind, title, body, data, read_at, created_at"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    user_id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime
    muted: bool = False  # the user muted this kind when it was created: not pushed live

    def event_data(self) -> dict[str, Any]:
        """The ``notification`` domain event's data for this notification."""
        return {
            "userId": self.user_id,
            "muted": self.muted,
            "notification": {
                "id": self.id,
                "kind": self.kind,
                "title": self.title,
                "body": self.body,
                "data": self.data,
                "createdAt": int(self.created_at.timestamp() * 1000),
            },
        }


@dataclass(frozen=True, slots=True)
class NotificationPage:
    items: list[NotificationRecord]
    total: int
    unread: int


def _from_row(row: asyncpg.Record) -> NotificationRecord:
    values = dict(row)
    values["data"] = json.loads(values["data"])
    return NotificationRecord(**values)


async def insert_notification(
    conn: asyncpg.Connection,
    user_id: int,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> NotificationRecord:
    """(asyncio side, inside the caller's transaction) Create one notification."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO notifications (user_id, kind, title, body, data)
        VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING {_COLUMNS},
            coalesce((SELECT $2 = ANY(u.muted_notification_kinds) FROM users u
                       WHERE u.id = $1), false) AS muted
        """,
        user_id,
        kind,
        title,
        body,
        json.dumps(data or {}),
    )
    return _from_row(row)


async def list_notifications(
    storage: Storage, user_id: int, *, page: int, limit: int, unread_only: bool = False
) -> NotificationPage:
    """Newest first, with the total and the unread count."""

    async def query(conn: asyncpg.Connection) -> NotificationPage:
        counts = await conn.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE read_at IS NULL) AS unread "
            "FROM notifications WHERE user_id = $1",
            user_id,
        )
        rows = await conn.fetch(
            f"""
            SELECT {_COLUMNS} FROM notifications
             WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4
            """,
            user_id,
            unread_only,
            limit,
            (page - 1) * limit,
        )
        total = counts["unread"] if unread_only else counts["total"]
        return NotificationPage([_from_row(r) for r in rows], total, counts["unread"])

    return await storage.connection(query)


async def unread_notifications(
    storage: Storage, user_id: int, *, limit: int
) -> list[NotificationRecord]:
    """The user's unread notifications of kinds not muted, newest first, at most ``limit``
    (what a reconnecting client is sent after ``welcome``)."""

    async def query(conn: asyncpg.Connection) -> list[NotificationRecord]:
        rows = await conn.fetch(
            f"""
            SELECT {", ".join("n." + c for c in _COLUMNS.split(", "))}
              FROM notifications n JOIN users u ON u.id = n.user_id
             WHERE n.user_id = $1 AND n.read_at IS NULL
               AND NOT (n.kind = ANY(u.muted_notification_kinds))
             ORDER BY n.created_at DESC, n.id DESC LIMIT $2
            """,
            user_id,
            limit,
        )
        return [_from_row(r) for r in rows]

    return await storage.connection(query)


async def mark_notification_read(
    storage: Storage, user_id: int, notification_id: int
) -> NotificationRecord | None:
    """Mark one of the user's notifications read (idempotent); None if not theirs."""

    async def mark(conn: asyncpg.Connection) -> NotificationRecord | None:
        row = await conn.fetchrow(
            f"""
            UPDATE notifications SET read_at = coalesce(read_at, now())
             WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}
            """,
            notification_id,
            user_id,
        )
        return _from_row(row) if row else None

    return await storage.transaction(mark)


async def mark_all_notifications_read(storage: Storage, user_id: int) -> int:
    """Mark every unread notification of the user read; how many there were."""

    async def mark(conn: asyncpg.Connection) -> int:
        status = await conn.execute(
            "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
            user_id,
        )
        return int(status.split()[-1])

    return await storage.transaction(mark)
