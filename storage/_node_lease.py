"""Node leases in Redis: who is alive, and what a dead node leaves behind.

Each node holds a *lease*, named ``<NODE_ID>/<random>``, in a sorted set scored by the
lease's expiry (milliseconds). The node renews it every few seconds together with a small
record (connections, rooms) for ``GET /api/admin/nodes``. Room presence is recorded under
the lease (see ``_presence``), and the lease lists the rooms it has presence in.

A lease whose expiry has passed is dead: any node's reaper may claim it, purge its presence
from each of its rooms (announcing ``member_left`` for users present through no other
lease) and delete it. A claim is a short lock, so a reaper that dies mid-way leaves the
lease to the next one. Its node may still renew it until a reaper has claimed it (nothing
was announced yet); after that, renewing fails and the node must take a new lease and
record its presence again.

Time is Redis's own clock (``TIME``) unless the caller passes ``now_ms`` (tests on a
virtual clock), so nodes with skewed clocks still agree on what has expired.

Keys share the hash tag ``{nodes}`` (one Redis Cluster slot):

    <prefix>{nodes}:expiry            ZSET lease -> expiry (ms)
    <prefix>{nodes}:info              HASH lease -> msgpack record
    <prefix>{nodes}:rooms:<lease>     SET  rooms the lease has presence in
    <prefix>{nodes}:reaping:<lease>   a reaper's claim (expires on its own)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import msgpack

from ._presence import purge_presence_aio
from ._service import Storage

REAP_BATCH = 16  # expired leases claimed per reap call
CLAIM_MS = 10_000  # how long a reaper's claim on a dead lease lasts

_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: expiry, info, claim. ARGV: now ('' = Redis TIME), lease, ttl ms, record, first.
# Returns 1 if the lease is held (renewed), 0 if a reaper has claimed or removed it.
_RENEW = (
    _NOW
    + """
if ARGV[5] ~= '1' then
  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
  if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1
"""
)

# KEYS: expiry. ARGV: now, limit. The expired leases.
_EXPIRED = (
    _NOW
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, ARGV[2])
"""
)

# KEYS: expiry, rooms, claim. ARGV: now, lease, claim ms, reaper.
# The dead lease's rooms if this reaper now holds the claim, else false.
_CLAIM = (
    _NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if (not score) or tonumber(score) >= now then return false end
if not redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[3]) then return false end
return redis.call('SMEMBERS', KEYS[2])
"""
)

# KEYS: expiry, info, rooms, claim. ARGV: lease. Forget the lease entirely.
_FORGET = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3], KEYS[4])
return 1
"""

# KEYS: expiry, info. ARGV: now. Live leases and their records.
_LIVE = (
    _NOW
    + """
local leases = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #leases, 2 do
  out[#out + 1] = leases[i]
  out[#out + 1] = leases[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], leases[i]) or ''
end
return out
"""
)


@dataclass(frozen=True, slots=True)
class LiveNode:
    """One live lease as ``GET /api/admin/nodes`` shows it."""

    lease: str
    node: str
    connections: int
    rooms: int
    started_at: int  # ms since the epoch
    expires_at: int  # ms (Redis clock)


def new_lease_name(node_id: str) -> str:
    """A fresh lease name for ``node_id`` (a node takes a new one after losing its lease)."""
    return f"{node_id}/{secrets.token_hex(4)}"


def _key(storage: Storage, *parts: str) -> str:
    return storage.key("{nodes}", *parts)


def lease_rooms_key(storage: Storage, lease: str) -> str:
    return _key(storage, "rooms", lease)


async def lease_tick(
    storage: Storage,
    lease: str,
    *,
    ttl_ms: int,
    record: dict[str, Any],
    first: bool = False,
    reap: bool = True,
    now_ms: int | None = None,
) -> tuple[bool, list[tuple[str, int]]]:
    """One round of a node's lease keeper, in one bridge crossing: extend ``lease`` to
    now + ``ttl_ms`` storing its record (``first`` creates it), then, if ``reap``, reap
    expired leases (see :func:`reap_expired_leases`). Returns (held, reaped); ``held`` is
    False when a reaper got to the lease first: the caller must take a new one and record
    its presence again."""

    async def run() -> tuple[bool, list[tuple[str, int]]]:
        held = await _renew_aio(storage, lease, ttl_ms, record, first, now_ms)
        return held, (await _reap_aio(storage, lease, now_ms) if reap else [])

    return await storage.run_aio(run)


async def _renew_aio(
    storage: Storage,
    lease: str,
    ttl_ms: int,
    record: dict[str, Any],
    first: bool,
    now_ms: int | None,
) -> bool:
    result = await storage.script(_RENEW)(
        keys=[_key(storage, "expiry"), _key(storage, "info"), _key(storage, "reaping", lease)],
        args=[_now(now_ms), lease, ttl_ms, msgpack.packb(record), "1" if first else "0"],
    )
    return bool(result)


async def reap_expired_leases(
    storage: Storage, reaper: str, *, now_ms: int | None = None
) -> list[tuple[str, int]]:
    """Claim expired leases, purge their presence (``member_left`` for users present
    through no other lease) and delete them. Returns (lease, events appended) per lease
    reaped. One Redis call when nothing has expired."""
    return await storage.run_aio(_reap_aio, storage, reaper, now_ms)


async def _reap_aio(storage: Storage, reaper: str, now_ms: int | None) -> list[tuple[str, int]]:
    expiry = _key(storage, "expiry")
    expired = await storage.script(_EXPIRED)(keys=[expiry], args=[_now(now_ms), REAP_BATCH])
    reaped = []
    for raw in expired:
        lease = raw.decode() if isinstance(raw, bytes) else str(raw)
        claim = _key(storage, "reaping", lease)
        rooms = await storage.script(_CLAIM)(
            keys=[expiry, lease_rooms_key(storage, lease), claim],
            args=[_now(now_ms), lease, CLAIM_MS, reaper],
        )
        if rooms is None:
            continue  # another reaper has it, or it was renewed in between
        names = sorted(r.decode() if isinstance(r, bytes) else str(r) for r in rooms)
        events = await purge_presence_aio(storage, names, lease)
        await storage.script(_FORGET)(
            keys=[expiry, _key(storage, "info"), lease_rooms_key(storage, lease), claim],
            args=[lease],
        )
        reaped.append((lease, events))
    return reaped


async def release_lease(storage: Storage, lease: str) -> int:
    """Leave cleanly: purge the lease's presence from every room it is in (announcing who
    left), then delete it. Returns the number of events appended."""

    async def run() -> int:
        rooms = await storage.aio_redis.smembers(lease_rooms_key(storage, lease))
        names = sorted(r.decode() for r in rooms)
        events = await purge_presence_aio(storage, names, lease)
        await storage.script(_FORGET)(
            keys=[
                _key(storage, "expiry"),
                _key(storage, "info"),
                lease_rooms_key(storage, lease),
                _key(storage, "reaping", lease),
            ],
            args=[lease],
        )
        return events

    return await storage.run_aio(run)


async def list_live_nodes(storage: Storage, *, now_ms: int | None = None) -> list[LiveNode]:
    """Every lease that has not expired, with the record its node last stored."""
    flat = await storage.run_aio(
        storage.script(_LIVE),
        keys=[_key(storage, "expiry"), _key(storage, "info")],
        args=[_now(now_ms)],
    )
    nodes = []
    for i in range(0, len(flat), 3):
        lease = flat[i].decode()
        record = msgpack.unpackb(flat[i + 2]) if flat[i + 2] else {}
        nodes.append(
            LiveNode(
                lease=lease,
                node=str(record.get("node", lease.rsplit("/", 1)[0])),
                connections=int(record.get("connections", 0)),
                rooms=int(record.get("rooms", 0)),
                started_at=int(record.get("startedAt", 0)),
                expires_at=int(float(flat[i + 1])),
            )
        )
    return sorted(nodes, key=lambda n: n.node)


def _now(now_ms: int | None) -> str:
    return "" if now_ms is None else str(int(now_ms))
