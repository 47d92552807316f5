"""Room presence across nodes: who is in a room, counted once however many nodes they use.

A node records its room members under its lease (``_node_lease``). Per room, with the room
as hash tag so everything lives on one Redis Cluster slot:

    room:{R}:on:<lease>   SET  users present through that lease
    room:{R}:users        HASH user -> number of leases the user is present through
    room:{R}:profiles     HASH user -> msgpack profile (the ``User`` of ``joined.members``)
    room:{R}:status       HASH user -> presence status (online, away, busy, dnd)

One Lua script changes a lease's presence in a room: a user entering through their first
lease appends ``member_joined``, a user leaving through their last lease appends
``member_left``, each with the room log's sequence, history and publish (``_room_log``) in
the same atomic step, so every node sees membership change in the room's one order. A node
calls it once per batch of changes, and once per room when it purges a lease.

Ephemeral events (typing, presence status) are published on the room's channel with
sequence 0 as ``msgpack([origin lease, event])``; they are not stored, except the latest
status per user, which a room reads when it starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgpack

from ._room_log import HISTORY_LENGTH, encode_event, floor_aio, room_channel
from ._service import Storage

# KEYS: users, profiles, status, on-set of the lease, seq, log
# ARGV: channel, history length, floor ('' unknown), room, purge ('1': every user of the
#       lease leaves), enter count, per enter (uid, member_joined payload, profile, status),
#       then the uids leaving.
# Returns {events appended, users left on the lease}, or {-1, 0} if the counter is unknown.
_CHANGE = """
if redis.call('EXISTS', KEYS[5]) == 0 then
  if ARGV[3] == '' then return {-1, 0} end
  redis.call('SET', KEYS[5], ARGV[3])
end
local appended = 0
local function append(payload)
  local seq = redis.call('INCR', KEYS[5])
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', payload)
  redis.call('PUBLISH', ARGV[1], seq .. ':' .. payload)
  appended = appended + 1
end
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  local uid = ARGV[i]
  if redis.call('SADD', KEYS[4], uid) == 1 and redis.call('HINCRBY', KEYS[1], uid, 1) == 1 then
    redis.call('HSET', KEYS[2], uid, ARGV[i + 2])
    redis.call('HSET', KEYS[3], uid, ARGV[i + 3])
    append(ARGV[i + 1])
  end
  i = i + 4
end
local leaving = {}
if ARGV[5] == '1' then
  leaving = redis.call('SMEMBERS', KEYS[4])
else
  for j = i, #ARGV do leaving[#leaving + 1] = ARGV[j] end
end
for _, uid in ipairs(leaving) do
  if redis.call('SREM', KEYS[4], uid) == 1 and redis.call('HINCRBY', KEYS[1], uid, -1) <= 0 then
    redis.call('HDEL', KEYS[1], uid)
    redis.call('HDEL', KEYS[2], uid)
    redis.call('HDEL', KEYS[3], uid)
    append(cmsgpack.pack({type = 'member_left', room = ARGV[4], userId = tonumber(uid)}))
  end
end
return {appended, redis.call('SCARD', KEYS[4])}
"""


@dataclass(frozen=True, slots=True)
class Entering:
    """A user entering a room through this node's lease."""

    user_id: int
    profile: dict[str, Any]
    status: str = "online"


@dataclass(slots=True)
class RoomSnapshot:
    """A room as Redis has it at sequence ``seq``: cluster-wide members and their status,
    and the newest events (oldest first, each with its ``seq``)."""

    seq: int
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


def lease_rooms_key(storage: Storage, lease: str) -> str:
    """The set of rooms a lease has presence in (keyed with the node leases)."""
    return storage.key("{nodes}", "rooms", lease)


def _keys(storage: Storage, room: str, lease: str) -> list[str]:
    tag = "{" + room + "}"
    return [
        storage.key("room", tag, "users"),
        storage.key("room", tag, "profiles"),
        storage.key("room", tag, "status"),
        storage.key("room", tag, "on", lease),
        storage.key("room", tag, "seq"),
        storage.key("room", tag, "log"),
    ]


async def change_presence(
    storage: Storage,
    room: str,
    lease: str,
    entering: list[Entering],
    leaving: list[int],
) -> int:
    """Record users entering and leaving ``room`` through ``lease``; returns how many
    ``member_joined``/``member_left`` events that appended. One bridge crossing."""

    async def run() -> int:
        if entering:
            await storage.aio_redis.sadd(lease_rooms_key(storage, lease), room)
        appended, remaining = await _change_aio(storage, room, lease, entering, leaving, False)
        if remaining == 0:
            await storage.aio_redis.srem(lease_rooms_key(storage, lease), room)
        return appended

    return await storage.run_aio(run)


async def _change_aio(
    storage: Storage,
    room: str,
    lease: str,
    entering: list[Entering],
    leaving: list[int],
    purge: bool,
    floor: str = "",
) -> tuple[int, int]:
    args: list[Any] = [
        room_channel(storage, room),
        HISTORY_LENGTH,
        floor,
        room,
        "1" if purge else "0",
        len(entering),
    ]
    for entry in entering:
        joined = encode_event({"type": "member_joined", "room": room, "user": entry.profile})
        args += [entry.user_id, joined, msgpack.packb(entry.profile), entry.status]
    args += leaving
    started = time.perf_counter()
    appended, remaining = await storage.script(_CHANGE)(keys=_keys(storage, room, lease), args=args)
    storage.observe_publish(time.perf_counter() - started)
    if appended == -1:
        floor = str(await floor_aio(storage, room))
        return await _change_aio(storage, room, lease, entering, leaving, purge, floor)
    return int(appended), int(remaining)


async def purge_presence_aio(storage: Storage, rooms: list[str], lease: str) -> int:
    """Asyncio side: every user of ``lease`` leaves each of ``rooms``; events appended."""
    total = 0
    for room in rooms:
        appended, _ = await _change_aio(storage, room, lease, [], [], True)
        total += appended
    return total


async def open_room_presence(
    storage: Storage, room: str, lease: str, *, count: int
) -> RoomSnapshot:
    """A room starting on this node: forget what ``lease`` had recorded in it (a restarted
    room starts with no local members; who is gone is announced), then the snapshot with
    the newest ``count`` events. One bridge crossing."""

    async def run() -> RoomSnapshot:
        await _change_aio(storage, room, lease, [], [], True)
        return await _snapshot_aio(storage, room, count)

    return await storage.run_aio(run)


async def room_snapshot(storage: Storage, room: str, *, count: int) -> RoomSnapshot:
    """The room's members, statuses, sequence and newest ``count`` events, as one MULTI."""
    return await storage.run_aio(_snapshot_aio, storage, room, count)


async def _snapshot_aio(storage: Storage, room: str, count: int) -> RoomSnapshot:
    _, profiles, status, _, seq_key, log_key = _keys(storage, room, "-")
    async with storage.aio_redis.pipeline(transaction=True) as pipe:
        pipe.get(seq_key)
        pipe.hgetall(profiles)
        pipe.hgetall(status)
        if count > 0:
            pipe.xrevrange(log_key, "+", "-", count=count)
        seq, raw_profiles, raw_status, *rest = await pipe.execute()
    entries = rest[0] if rest else []
    snapshot = RoomSnapshot(int(seq or 0))
    for uid, profile in raw_profiles.items():
        snapshot.members[int(uid)] = msgpack.unpackb(profile, raw=False)
    for uid, value in raw_status.items():
        snapshot.status[int(uid)] = value.decode()
    for entry_id, fields in reversed(entries):
        event = msgpack.unpackb(fields[b"e"], raw=False)
        event["seq"] = int(entry_id.split(b"-")[0])
        snapshot.events.append(event)
    return snapshot


async def publish_ephemeral(
    storage: Storage, room: str, origin: str, events: list[dict[str, Any]]
) -> None:
    """Publish typing and presence events to every node with members in ``room`` (not
    stored; the latest presence status per user is kept for rooms starting later). One
    pipeline, one bridge crossing."""
    channel = room_channel(storage, room)
    status_key = storage.key("room", "{" + room + "}", "status")

    async def run() -> None:
        async with storage.aio_redis.pipeline(transaction=False) as pipe:
            for event in events:
                if event["type"] == "presence":
                    pipe.hset(status_key, str(event["userId"]), event["status"])
                pipe.publish(channel, b"0:" + msgpack.packb([origin, event], use_bin_type=True))
            await pipe.execute()

    await storage.run_aio(run)


def decode_ephemeral(payload: bytes) -> tuple[str, dict[str, Any]]:
    """The origin lease and the event of a published ephemeral (sequence 0) message."""
    origin, event = msgpack.unpackb(payload, raw=False)
    return origin, event
