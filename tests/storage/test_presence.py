"""Room presence across leases: users counted once, joins and leaves in the room's order."""

from __future__ import annotations

import secrets

from storage import (
    Entering,
    change_presence,
    open_room_presence,
    publish_ephemeral,
    read_history,
    room_snapshot,
)


def _room() -> str:
    return f"pitch:{secrets.randbelow(10**9) + 1}"


def _user(uid: int) -> Entering:
    return Entering(uid, {"id": uid, "username": f"u{uid}", "userType": "investor"})


async def _kinds(storage, room: str) -> list[tuple[str, int]]:
    _, events = await read_history(storage, room)
    return [(e["type"], e.get("userId") or e["user"]["id"]) for e in events]


async def test_a_user_on_two_leases_joins_and_leaves_once(storage) -> None:
    room = _room()
    assert await change_presence(storage, room, "a/1", [_user(7), _user(8)], []) == 2
    assert await change_presence(storage, room, "b/1", [_user(7)], []) == 0
    assert await change_presence(storage, room, "a/1", [], [7]) == 0  # still on b/1
    assert await change_presence(storage, room, "b/1", [], [7]) == 1
    assert await _kinds(storage, room) == [
        ("member_joined", 7),
        ("member_joined", 8),
        ("member_left", 7),
    ]
    snapshot = await room_snapshot(storage, room, count=10)
    assert snapshot.seq == 3 and list(snapshot.members) == [8]
    assert snapshot.members[8]["username"] == "u8" and snapshot.status == {8: "online"}


async def test_entering_twice_through_one_lease_changes_nothing(storage) -> None:
    room = _room()
    await change_presence(storage, room, "a/1", [_user(1)], [])
    assert await change_presence(storage, room, "a/1", [_user(1)], []) == 0
    assert await change_presence(storage, room, "a/1", [], [2]) == 0  # never entered
    assert await _kinds(storage, room) == [("member_joined", 1)]


async def test_opening_a_room_purges_what_the_lease_left_behind(storage) -> None:
    room = _room()
    await change_presence(storage, room, "a/1", [_user(1), _user(2)], [])
    await change_presence(storage, room, "b/1", [_user(2)], [])
    snapshot = await open_room_presence(storage, room, "a/1", count=100)
    assert list(snapshot.members) == [2]
    assert snapshot.seq == 3
    assert [e["type"] for e in snapshot.events][-1] == "member_left"
    assert snapshot.events[-1]["userId"] == 1


async def test_presence_status_is_kept_for_rooms_starting_later(storage) -> None:
    room = _room()
    await change_presence(storage, room, "a/1", [_user(5)], [])
    event = {"type": "presence", "userId": 5, "status": "away", "room": room}
    await publish_ephemeral(storage, room, "a/1", [event])
    snapshot = await room_snapshot(storage, room, count=0)
    assert snapshot.status == {5: "away"} and snapshot.events == []
