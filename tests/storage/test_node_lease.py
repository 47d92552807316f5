"""Node leases: renewal, expiry on a caller's clock, reaping a dead node's presence."""

from __future__ import annotations

import secrets
import time

from storage import (
    Entering,
    change_presence,
    lease_tick,
    list_live_nodes,
    read_history,
    release_lease,
    room_snapshot,
)

TTL = 10_000


def _now() -> int:
    return int(time.time() * 1000)


def _room() -> str:
    return f"pitch:{secrets.randbelow(10**9) + 1}"


def _lease(name: str) -> str:
    return f"{name}-{secrets.token_hex(3)}/1"


def _user(uid: int) -> Entering:
    return Entering(uid, {"id": uid, "username": f"u{uid}", "userType": "creator"})


def _record(node: str, connections: int = 0) -> dict:
    return {"node": node, "connections": connections, "rooms": 1, "startedAt": 5}


async def test_a_renewed_lease_is_live_and_listed_with_its_record(storage) -> None:
    lease = _lease("a")
    now = _now()
    held, _ = await lease_tick(
        storage, lease, ttl_ms=TTL, record=_record("a", 3), first=True, now_ms=now
    )
    assert held
    held, _ = await lease_tick(
        storage, lease, ttl_ms=TTL, record=_record("a", 4), now_ms=now + 9000
    )
    assert held
    live = {n.lease: n for n in await list_live_nodes(storage, now_ms=now + 9000)}
    assert live[lease].connections == 4 and live[lease].node == "a"
    assert live[lease].expires_at == now + 9000 + TTL


async def test_an_expired_lease_is_renewed_until_a_reaper_claims_it(storage) -> None:
    late, reaper = _lease("late"), _lease("reaper")
    now = _now()
    await lease_tick(storage, late, ttl_ms=TTL, record=_record("late"), first=True, now_ms=now)
    later = now + TTL + 1
    held, _ = await lease_tick(storage, late, ttl_ms=TTL, record=_record("late"), now_ms=later)
    assert held  # expired, but nobody had claimed it: nothing was announced
    much_later = later + TTL + 1
    await lease_tick(
        storage, reaper, ttl_ms=TTL, record=_record("r"), first=True, now_ms=much_later
    )
    held, _ = await lease_tick(storage, late, ttl_ms=TTL, record=_record("late"), now_ms=much_later)
    assert not held


async def test_a_dead_lease_is_reaped_and_only_its_lone_members_leave(storage) -> None:
    room = _room()
    dead, alive = _lease("dead"), _lease("alive")
    now = _now()
    await lease_tick(storage, dead, ttl_ms=TTL, record=_record("dead"), first=True, now_ms=now)
    await lease_tick(storage, alive, ttl_ms=TTL, record=_record("alive"), first=True, now_ms=now)
    await change_presence(storage, room, dead, [_user(1), _user(2)], [])
    await change_presence(storage, room, alive, [_user(2)], [])
    await lease_tick(storage, alive, ttl_ms=TTL, record=_record("alive"), now_ms=now + TTL - 1)

    later = now + TTL + 1
    held, reaped = await lease_tick(storage, alive, ttl_ms=TTL, record=_record("a"), now_ms=later)
    assert held
    assert (dead, 1) in reaped
    _, events = await read_history(storage, room)
    assert [(e["type"], e.get("userId")) for e in events][-1] == ("member_left", 1)
    assert list((await room_snapshot(storage, room, count=1)).members) == [2]
    assert dead not in {n.lease for n in await list_live_nodes(storage, now_ms=later)}
    _, again = await lease_tick(storage, alive, ttl_ms=TTL, record=_record("a"), now_ms=later)
    assert dead not in {lease for lease, _ in again}


async def test_release_leaves_every_room_and_forgets_the_lease(storage) -> None:
    rooms = [_room(), _room()]
    lease = _lease("going")
    await lease_tick(storage, lease, ttl_ms=TTL, record=_record("going"), first=True)
    for room in rooms:
        await change_presence(storage, room, lease, [_user(9)], [])
    assert await release_lease(storage, lease) == 2
    for room in rooms:
        assert (await room_snapshot(storage, room, count=1)).members == {}
    assert lease not in {n.lease for n in await list_live_nodes(storage)}
