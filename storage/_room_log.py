"""Each room's ordered log of durable events: sequence, history and fan-out in one step.

A durable event (chat, pitch_updated, member_joined, member_left) is a wire-shaped map
without its ``seq``. Appending runs one Lua script that increments the room's counter,
appends the event to the room's capped stream (stream id ``<seq>-0``) and publishes
``b"<seq>:" + msgpack(event)`` on the room's channel. Being atomic, no node can see a
published event that history lacks, or the reverse, and every node sees one order.

Keys share the room as a hash tag (``{pitch:7}``), so a Redis Cluster keeps a room's
counter and stream on one shard; see ``storage/CLUSTER.md``.

If Redis has lost a room's counter (a flushed or replaced Redis), the script refuses to
start from zero; the counter is re-seeded from the highest sequence PostgreSQL has for the
room, so sequences never repeat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgpack

from ._service import Storage

HISTORY_LENGTH = 1000  # events kept per room in Redis (approximately: MAXLEN ~)
DEDUPE_TTL = 24 * 3600  # how long a chat's clientId stays idempotent in Redis

# KEYS: counter, stream, dedupe key (or "-" for none)
# ARGV: payload, channel, history length, floor ("" when unknown), dedupe ttl, dedupe value
# Returns {status, seq, dedupe value}: status 1 appended, 0 duplicate, -1 counter unknown.
_APPEND = """
if KEYS[3] ~= '-' then
  local prior = redis.call('GET', KEYS[3])
  if prior then
    local cut = string.find(prior, ':', 1, true)
    return {0, tonumber(string.sub(prior, 1, cut - 1)), string.sub(prior, cut + 1)}
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[4] == '' then return {-1, 0, ''} end
  redis.call('SET', KEYS[1], ARGV[4])
end
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'e', ARGV[1])
redis.call('PUBLISH', ARGV[2], seq .. ':' .. ARGV[1])
if KEYS[3] ~= '-' then
  redis.call('SET', KEYS[3], seq .. ':' .. ARGV[6], 'EX', ARGV[5])
end
return {1, seq, ARGV[6]}
"""


@dataclass(frozen=True, slots=True)
class ChatAppend:
    seq: int
    message_id: int
    created_at: int  # ms since the epoch
    duplicate: bool  # an earlier send with the same clientId; nothing new was published


def room_channel(storage: Storage, room: str) -> str:
    return storage.key("room", "{" + room + "}", "events")


def _keys(storage: Storage, room: str) -> tuple[str, str]:
    tag = "{" + room + "}"
    return storage.key("room", tag, "seq"), storage.key("room", tag, "log")


def encode_event(event: dict[str, Any]) -> bytes:
    return msgpack.packb(event, use_bin_type=True)


def decode_published(data: bytes) -> tuple[int, bytes]:
    """Split a published message into its sequence and the event's msgpack bytes."""
    seq, _, payload = data.partition(b":")
    return int(seq), payload


async def append_event(storage: Storage, room: str, event: dict[str, Any]) -> int:
    """Append a durable event (without ``seq``) to ``room``; return its sequence."""
    return await storage.run_aio(_append_event_aio, storage, room, event)


async def _append_event_aio(storage: Storage, room: str, event: dict[str, Any]) -> int:
    """:func:`append_event` on the asyncio side, for units of work inside ``storage/``."""
    _, seq, _ = await _append_seeded(storage, None, room, encode_event(event), None, "")
    return seq


async def append_chat(
    storage: Storage,
    room: str,
    *,
    sender_id: int,
    body: str,
    client_id: str | None,
) -> ChatAppend:
    """Publish a chat message and store it in PostgreSQL, idempotent on ``client_id``.

    One unit of work on the asyncio side: look for an earlier send (PostgreSQL), append and
    publish (Redis, atomic), then insert the row (PostgreSQL). It returns only once the
    message is durable in both, so the caller may acknowledge it. A retry after a failure
    between the two steps finds the Redis dedupe key and reuses its sequence and id.
    """

    async def run() -> ChatAppend:
        async with storage.aio_pool.acquire() as conn:
            return await append_chat_on(conn, storage, room, sender_id, body, client_id)

    return await storage.run_aio(run)


async def append_chat_on(
    conn: asyncpg.Connection,
    storage: Storage,
    room: str,
    sender_id: int,
    body: str,
    client_id: str | None,
) -> ChatAppend:
    """:func:`append_chat` on the asyncio side, on a connection the caller holds (outside
    any transaction: the row is committed on its own once Redis has the event)."""
    if client_id is not None:
        prior = await conn.fetchrow(
            "SELECT id, seq, created_at FROM messages "
            "WHERE room = $1 AND sender_id = $2 AND client_id = $3",
            room,
            sender_id,
            client_id,
        )
        if prior is not None:
            created = int(prior["created_at"].timestamp() * 1000)
            return ChatAppend(prior["seq"], prior["id"], created, True)
    message_id = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('messages', 'id'))")
    created_at = int(time.time() * 1000)
    event = {
        "type": "chat",
        "room": room,
        "messageId": message_id,
        "userId": sender_id,
        "body": body,
        "clientId": client_id or f"m{message_id}",
        "createdAt": created_at,
    }
    dedupe = None
    if client_id is not None:
        dedupe = storage.key("room", "{" + room + "}", "client", sender_id, client_id)
    token = f"{message_id}:{created_at}"
    payload = encode_event(event)
    status, seq, value = await _append_seeded(storage, conn, room, payload, dedupe, token)
    message_id, created_at = (int(part) for part in value.split(":"))
    await conn.execute(
        """
        INSERT INTO messages (id, room, sender_id, body, seq, client_id, created_at)
        OVERRIDING SYSTEM VALUE
        VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::double precision / 1000))
        ON CONFLICT DO NOTHING
        """,
        message_id,
        room,
        sender_id,
        body,
        seq,
        client_id,
        created_at,
    )
    return ChatAppend(seq, message_id, created_at, status == 0)


async def read_history(
    storage: Storage, room: str, *, after: int = 0, until: int | None = None, count: int = 100
) -> tuple[int, list[dict[str, Any]]]:
    """The room's current sequence and up to ``count`` events with ``after < seq <= until``
    (the newest ``count`` of them when ``after`` is 0), oldest first, each with its ``seq``.

    The two reads are one MULTI, so the sequence and the events are one snapshot.
    """
    seq_key, log_key = _keys(storage, room)
    end = f"{until}-0" if until is not None else "+"

    async def run() -> tuple[Any, list[Any]]:
        client = storage.aio_redis
        async with client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            if after > 0:
                pipe.xrange(log_key, f"({after}-0", end, count=count)
            else:
                pipe.xrevrange(log_key, end, "-", count=count)
            current, entries = await pipe.execute()
        return current, entries if after > 0 else list(reversed(entries))

    current, entries = await storage.run_aio(run)
    events = []
    for entry_id, fields in entries:
        event = msgpack.unpackb(fields[b"e"], raw=False)
        event["seq"] = int(entry_id.split(b"-")[0])
        events.append(event)
    return int(current or 0), events


async def _append(
    storage: Storage,
    room: str,
    payload: bytes,
    dedupe: str | None,
    dedupe_value: str,
    floor: int | None = None,
) -> tuple[int, int, str]:
    seq_key, log_key = _keys(storage, room)
    started = time.perf_counter()
    status, seq, value = await storage.script(_APPEND)(
        keys=[seq_key, log_key, dedupe or "-"],
        args=[
            payload,
            room_channel(storage, room),
            HISTORY_LENGTH,
            "" if floor is None else str(floor),
            DEDUPE_TTL,
            dedupe_value,
        ],
    )
    storage.observe_publish(time.perf_counter() - started)
    return int(status), int(seq), value.decode() if isinstance(value, bytes) else str(value)


async def _append_seeded(
    storage: Storage,
    conn: asyncpg.Connection | None,
    room: str,
    payload: bytes,
    dedupe: str | None,
    dedupe_value: str,
) -> tuple[int, int, str]:
    """``_append``; if Redis lost the room's counter, seed it from PostgreSQL and retry."""
    result = await _append(storage, room, payload, dedupe, dedupe_value)
    if result[0] != -1:
        return result
    if conn is None:
        floor = await floor_aio(storage, room)
    else:
        floor = await _floor_on(conn, room)
    return await _append(storage, room, payload, dedupe, dedupe_value, floor)


async def floor_aio(storage: Storage, room: str) -> int:
    """Asyncio side: the highest sequence PostgreSQL has for ``room`` (0 if none)."""
    async with storage.aio_pool.acquire() as conn:
        return await _floor_on(conn, room)


async def _floor_on(conn: asyncpg.Connection, room: str) -> int:
    return int(
        await conn.fetchval("SELECT coalesce(max(seq), 0) FROM messages WHERE room = $1", room)
    )
