"""One-to-one conversations and their messages.

A conversation's messages live in ``messages`` under the room ``conversation:<id>`` with a
per-room sequence taken from ``conversations.last_seq`` in the sending transaction, the
same sequence the realtime chat uses. :func:`append_conversation_message` is the one way
to add a message, for the HTTP API and the WebSocket side alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from ._notifications import NotificationRecord, insert_notification
from ._room_log import ChatAppend, append_chat_on
from ._service import Storage


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


@dataclass(frozen=True, slots=True)
class Participant:
    id: int
    username: str
    first_name: str | None
    last_name: str | None
    user_type: str
    last_read_seq: int


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: int
    pitch_id: int | None
    last_seq: int
    last_message_at: datetime | None
    created_at: datetime
    participants: list[Participant]


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    room: str
    sender_id: int
    body: str
    seq: int
    client_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AppendedMessage:
    message: MessageRecord
    created: bool  # False: a repeat of an earlier send with the same client id
    notifications: list[NotificationRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Opened:
    conversation: ConversationRecord
    created: bool


_MESSAGE_COLUMNS = "id, room, sender_id, body, seq, client_id, created_at"


async def _conversation(conn: asyncpg.Connection, conversation_id: int) -> ConversationRecord:
    row = await conn.fetchrow(
        "SELECT id, pitch_id, last_seq, last_message_at, created_at FROM conversations "
        "WHERE id = $1",
        conversation_id,
    )
    members = await conn.fetch(
        """
        SELECT u.id, u.username, u.first_name, u.last_name, u.user_type, cp.last_read_seq
          FROM conversation_participants cp JOIN users u ON u.id = cp.user_id
         WHERE cp.conversation_id = $1 ORDER BY u.id
        """,
        conversation_id,
    )
    return ConversationRecord(**dict(row), participants=[Participant(**dict(m)) for m in members])


async def open_conversation(
    storage: Storage, user_id: int, other_id: int, pitch_id: int | None
) -> Opened | None:
    """Find or create the 1:1 conversation of two users (about ``pitch_id``, or about
    nothing). None if the other user does not exist."""

    async def find_or_create(conn: asyncpg.Connection) -> Opened | None:
        if not await conn.fetchval("SELECT true FROM users WHERE id = $1", other_id):
            return None
        low, high = sorted((user_id, other_id))
        # Serialise find-or-create of the same pair, so two racing requests share one.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"conversation:{low}:{high}:{pitch_id}",
        )
        existing = await conn.fetchval(
            """
            SELECT c.id FROM conversations c
             WHERE c.pitch_id IS NOT DISTINCT FROM $3
               AND EXISTS (SELECT 1 FROM conversation_participants
                            WHERE conversation_id = c.id AND user_id = $1)
               AND EXISTS (SELECT 1 FROM conversation_participants
                            WHERE conversation_id = c.id AND user_id = $2)
               AND (SELECT count(*) FROM conversation_participants
                     WHERE conversation_id = c.id) = 2
             ORDER BY c.id LIMIT 1
            """,
            low,
            high,
            pitch_id,
        )
        if existing is not None:
            return Opened(await _conversation(conn, existing), False)
        created = await conn.fetchval(
            "INSERT INTO conversations (pitch_id, created_by) VALUES ($1, $2) RETURNING id",
            pitch_id,
            user_id,
        )
        await conn.executemany(
            "INSERT INTO conversation_participants (conversation_id, user_id) VALUES ($1, $2)",
            [(created, low), (created, high)],
        )
        return Opened(await _conversation(conn, created), True)

    return await storage.transaction(find_or_create)


async def list_conversations(
    storage: Storage, user_id: int, *, page: int, limit: int
) -> tuple[list[ConversationRecord], int]:
    """The user's conversations, most recently active first, and their total."""

    async def query(conn: asyncpg.Connection) -> tuple[list[ConversationRecord], int]:
        total = await conn.fetchval(
            "SELECT count(*) FROM conversation_participants WHERE user_id = $1", user_id
        )
        ids = await conn.fetch(
            """
            SELECT c.id FROM conversations c
              JOIN conversation_participants cp ON cp.conversation_id = c.id
             WHERE cp.user_id = $1
             ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
             LIMIT $2 OFFSET $3
            """,
            user_id,
            limit,
            (page - 1) * limit,
        )
        return [await _conversation(conn, row["id"]) for row in ids], total

    return await storage.connection(query)


async def get_conversation(
    storage: Storage, conversation_id: int, user_id: int
) -> ConversationRecord | None:
    """The conversation if ``user_id`` takes part in it."""

    async def query(conn: asyncpg.Connection) -> ConversationRecord | None:
        if not await _is_participant(conn, conversation_id, user_id):
            return None
        return await _conversation(conn, conversation_id)

    return await storage.connection(query)


async def list_messages(
    storage: Storage, conversation_id: int, user_id: int, *, before: int | None, limit: int
) -> list[MessageRecord] | None:
    """Up to ``limit`` messages with seq below ``before`` (the newest when None), oldest
    first. None if ``user_id`` does not take part in the conversation."""

    async def query(conn: asyncpg.Connection) -> list[MessageRecord] | None:
        if not await _is_participant(conn, conversation_id, user_id):
            return None
        rows = await conn.fetch(
            f"""
            SELECT {_MESSAGE_COLUMNS} FROM messages
             WHERE room = $1 AND ($2::bigint IS NULL OR seq < $2)
             ORDER BY seq DESC LIMIT $3
            """,
            conversation_room(conversation_id),
            before,
            limit,
        )
        return [MessageRecord(**dict(r)) for r in reversed(rows)]

    return await storage.connection(query)


async def append_conversation_message(
    storage: Storage,
    conversation_id: int,
    sender_id: int,
    body: str,
    client_id: str | None = None,
) -> AppendedMessage | None:
    """Add a message as ``sender_id`` to the conversation's room and notify the other
    participants (``new_message``), whether it came over HTTP or the WebSocket.

    The message goes through the room log (``append_chat_on``): it gets the room's next
    sequence number, is published to every node's members and stored, exactly like a chat
    sent on a socket. Then one transaction records the conversation's bookkeeping and the
    notifications. Idempotent on ``client_id``: a repeat returns the original message with
    ``created=False`` and changes nothing. None if the conversation does not exist or the
    sender does not take part in it. The caller publishes the notifications.
    """
    room = conversation_room(conversation_id)

    async def append() -> AppendedMessage | None:
        async with storage.aio_pool.acquire() as conn:
            if not await _is_participant(conn, conversation_id, sender_id):
                return None
            chat = await append_chat_on(conn, storage, room, sender_id, body, client_id)
            row = await conn.fetchrow(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = $1", chat.message_id
            )
            if chat.duplicate:
                return AppendedMessage(MessageRecord(**dict(row)), created=False)
            async with conn.transaction():
                notices = await _after_message(conn, conversation_id, sender_id, body, chat)
            return AppendedMessage(MessageRecord(**dict(row)), True, notices)

    return await storage.run_aio(append)


async def _after_message(
    conn: asyncpg.Connection, conversation_id: int, sender_id: int, body: str, chat: ChatAppend
) -> list[NotificationRecord]:
    await conn.execute(
        "UPDATE conversations SET last_seq = greatest(last_seq, $2), last_message_at = now() "
        "WHERE id = $1",
        conversation_id,
        chat.seq,
    )
    await conn.execute(
        "UPDATE conversation_participants SET last_read_seq = greatest(last_read_seq, $3) "
        "WHERE conversation_id = $1 AND user_id = $2",
        conversation_id,
        sender_id,
        chat.seq,
    )
    sender = await conn.fetchval("SELECT username FROM users WHERE id = $1", sender_id)
    others = await conn.fetch(
        "SELECT user_id FROM conversation_participants "
        "WHERE conversation_id = $1 AND user_id <> $2",
        conversation_id,
        sender_id,
    )
    preview = body if len(body) <= 140 else body[:139] + "…"
    return [
        await insert_notification(
            conn,
            other["user_id"],
            "new_message",
            f"New message from {sender}",
            preview,
            {"conversationId": conversation_id, "messageId": chat.message_id, "seq": chat.seq},
        )
        for other in others
    ]


async def mark_conversation_read(
    storage: Storage, conversation_id: int, user_id: int, seq: int | None
) -> int | None:
    """Move the user's read marker forward to ``seq`` (the latest when None, never past
    the latest, never backwards); the marker. None if not a participant."""

    async def mark(conn: asyncpg.Connection) -> int | None:
        return await conn.fetchval(
            """
            UPDATE conversation_participants cp
               SET last_read_seq = greatest(cp.last_read_seq,
                                            least(coalesce($3, c.last_seq), c.last_seq))
              FROM conversations c
             WHERE c.id = cp.conversation_id AND cp.conversation_id = $1 AND cp.user_id = $2
            RETURNING cp.last_read_seq
            """,
            conversation_id,
            user_id,
            seq,
        )

    return await storage.transaction(mark)


async def _is_participant(conn: asyncpg.Connection, conversation_id: int, user_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM conversation_participants "
            "WHERE conversation_id = $1 AND user_id = $2",
            conversation_id,
            user_id,
        )
    )
