"""Pitch and conversation rooms on a real node: presence, chat, typing, edits, recovery."""

from __future__ import annotations

import pytest
import trio
from ws_client import connect, welcomed

from protocol import (
    Ack,
    ClientChat,
    ClientPresence,
    ClientTyping,
    Conflict,
    ErrorCode,
    ErrorMessage,
    Join,
    Joined,
    Leave,
    MemberJoined,
    MemberLeft,
    PitchUpdate,
    PitchUpdated,
    Resync,
    ServerChat,
    ServerPresence,
    ServerTyping,
)

from support import RunningNode, make_pitch, make_user


async def _join(client, room: str, since: int | None = None) -> Joined:
    """Join and return the reply: joined, resync or an error (other traffic is kept)."""
    await client.send(Join(room=room, since=since))
    return await client.expect((Joined, Resync, ErrorMessage))


async def test_two_members_see_each_other_chat_and_presence(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(15):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            joined_a = await _join(a, room)
            assert joined_a.pitch["title"] == "A pitch"
            await a.expect(MemberJoined, room=room)
            joined_b = await _join(b, room)
            assert {m["id"] for m in joined_b.members} == {creator.id, investor.id}
            assert joined_b.presence[str(creator.id)] == "online"
            seen = await a.expect(MemberJoined, room=room)
            assert seen.user["id"] == investor.id

            await b.send(ClientChat(id="m1", room=room, body="Love the logline", client_id="c1"))
            ack = await b.expect(Ack, id="m1")
            chat_a = await a.expect(ServerChat)
            chat_b = await b.expect(ServerChat)
            assert chat_a == chat_b
            assert (chat_a.seq, chat_a.body, chat_a.user_id) == (
                ack.seq,
                "Love the logline",
                investor.id,
            )

            await b.send(ClientPresence(status="away"))
            presence = await a.expect(ServerPresence)
            assert (presence.user_id, presence.status) == (investor.id, "away")

    stored = await storage.connection(
        lambda conn: conn.fetchval("SELECT body FROM messages WHERE room = $1", room)
    )
    assert stored == "Love the logline"


async def test_chat_retry_with_same_client_id_is_acked_once(node: RunningNode, storage) -> None:
    creator = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(15):
        async with connect(node.ws, creator.token) as a:
            await welcomed(a)
            await _join(a, room)
            await a.send(ClientChat(id=1, room=room, body="hello", client_id="same"))
            first = await a.expect(Ack, id=1)
            await a.send(ClientChat(id=2, room=room, body="hello", client_id="same"))
            second = await a.expect(Ack, id=2)
    assert first.seq == second.seq
    count = await storage.connection(
        lambda conn: conn.fetchval("SELECT count(*) FROM messages WHERE room = $1", room)
    )
    assert count == 1


async def test_reconnect_with_since_gets_exactly_what_was_missed(
    node: RunningNode, storage
) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(20):
        async with connect(node.ws, creator.token) as a:
            await welcomed(a)
            await _join(a, room)
            async with connect(node.ws, investor.token) as b:
                await welcomed(b)
                joined = await _join(b, room)
                last_seen = joined.seq
            for n in range(3):
                await a.send(ClientChat(id=n, room=room, body=f"missed {n}", client_id=f"x{n}"))
                await a.expect(Ack, id=n)
            async with connect(node.ws, investor.token) as b:
                await welcomed(b)
                rejoined = await _join(b, room, since=last_seen)
    bodies = [e["body"] for e in rejoined.history if e["type"] == "chat"]
    assert bodies == ["missed 0", "missed 1", "missed 2"]
    seqs = [e["seq"] for e in rejoined.history]
    assert seqs == list(range(last_seen + 1, rejoined.seq + 1))


async def test_since_ahead_of_the_room_gets_resync(node: RunningNode, storage) -> None:
    creator = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(10):
        async with connect(node.ws, creator.token) as a:
            await welcomed(a)
            assert await _join(a, room, since=999) == Resync(room=room)


async def test_draft_pitch_is_not_found_for_strangers(node: RunningNode, storage) -> None:
    creator, stranger = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator, status='draft')}"
    with trio.fail_after(10):
        async with connect(node.ws, stranger.token) as s:
            await welcomed(s)
            error = await _join(s, room)
    assert isinstance(error, ErrorMessage) and error.code == ErrorCode.NOT_FOUND


async def test_protected_pitch_needs_a_signed_nda(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    pitch_id = await make_pitch(storage, creator, require_nda=True)
    room = f"pitch:{pitch_id}"
    with trio.fail_after(15):
        async with connect(node.ws, investor.token) as b:
            await welcomed(b)
            refused = await _join(b, room)
            assert isinstance(refused, ErrorMessage) and refused.code == ErrorCode.FORBIDDEN
            await storage.transaction(
                lambda conn: conn.execute(
                    "INSERT INTO ndas (pitch_id, requester_id, owner_id, status, signed_at) "
                    "VALUES ($1, $2, $3, 'signed', now())",
                    pitch_id,
                    investor.id,
                    creator.id,
                )
            )
            joined = await _join(b, room)
    assert isinstance(joined, Joined)
    assert joined.pitch["protectedContent"] == {"budgetBreakdown": "secret numbers"}


async def test_conversation_admits_participants_only(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    stranger = await make_user(storage)

    async def make(conn):
        cid = await conn.fetchval(
            "INSERT INTO conversations (created_by) VALUES ($1) RETURNING id", creator.id
        )
        await conn.executemany(
            "INSERT INTO conversation_participants (conversation_id, user_id) VALUES ($1, $2)",
            [(cid, creator.id), (cid, investor.id)],
        )
        return cid

    room = f"conversation:{await storage.transaction(make)}"
    with trio.fail_after(10):
        async with connect(node.ws, investor.token) as b, connect(node.ws, stranger.token) as s:
            await welcomed(b), await welcomed(s)
            assert isinstance(await _join(b, room), Joined)
            refused = await _join(s, room)
    assert isinstance(refused, ErrorMessage) and refused.code == ErrorCode.FORBIDDEN


async def test_chat_before_joining_is_refused(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as a:
            await welcomed(a)
            await a.send(ClientChat(id="x", room="pitch:1", body="hi", client_id="c"))
            error = await a.recv()
    assert error == ErrorMessage(id="x", code=ErrorCode.NOT_JOINED, message="join pitch:1 first")


async def test_live_edit_applies_and_conflicts_per_field(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(15):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            version = (await _join(a, room)).pitch["version"]
            await _join(b, room)
            await a.send(PitchUpdate(id="e1", room=room, version=version, fields={"title": "New"}))
            await a.expect(Ack, id="e1")
            update = await b.expect(PitchUpdated)
            assert (update.version, update.fields) == (version + 1, {"title": "New"})
            stale = {"title": "Older", "genre": "drama"}
            await a.send(PitchUpdate(id="e2", room=room, version=version, fields=stale))
            await a.expect(Ack, id="e2")
            conflict = await a.expect(Conflict, id="e2")
            assert conflict.fields == {"title": "New"}
            applied = await b.expect(PitchUpdated)
            assert applied.fields == {"genre": "drama"}

            await b.send(PitchUpdate(id="e3", room=room, version=9, fields={"title": "Mine"}))
            refused = await b.expect(ErrorMessage, id="e3")
    assert refused.code == ErrorCode.FORBIDDEN


async def test_typing_reaches_others_and_expires(node: RunningNode, storage, autojump) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(60):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            await _join(a, room), await _join(b, room)
            await b.send(ClientTyping(room=room, typing=True))
            started = await a.expect(ServerTyping)
            begun = trio.current_time()
            stopped = await a.expect(ServerTyping)
            waited = trio.current_time() - begun
    assert (started.user_id, started.typing) == (investor.id, True)
    assert (stopped.user_id, stopped.typing) == (investor.id, False)
    assert 4.5 <= waited <= 6.5


async def test_leave_announces_member_left(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(15):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            await _join(a, room), await _join(b, room)
            await b.send(Leave(id="l", room=room))
            await b.expect(Ack, id="l")
            left = await a.expect(MemberLeft)
    assert left.user_id == investor.id


async def test_crashed_room_restarts_alone_and_its_members_resync(
    node: RunningNode, storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realtime import _room

    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    doomed = f"pitch:{await make_pitch(storage, creator)}"
    healthy = f"pitch:{await make_pitch(storage, creator)}"
    original = _room.Room._on_typing

    def explode(self, session, typing):
        if self.name == doomed:
            raise RuntimeError("injected room crash")
        return original(self, session, typing)

    monkeypatch.setattr(_room.Room, "_on_typing", explode)
    with trio.fail_after(20):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            await _join(a, doomed), await _join(a, healthy), await _join(b, healthy)
            await a.send(ClientTyping(room=doomed, typing=True))
            assert await a.expect(Resync) == Resync(room=doomed)
            await a.send(ClientChat(id="h", room=healthy, body="still here", client_id="h1"))
            assert (await b.expect(ServerChat)).body == "still here"
            monkeypatch.setattr(_room.Room, "_on_typing", original)
            rejoined = await _join(a, doomed)
    assert isinstance(rejoined, Joined)
    assert node.node.hub.supervisor.restarts >= 1


async def test_idle_room_stops_a_minute_after_its_last_member(
    node: RunningNode, storage, autojump
) -> None:
    creator = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, creator)}"
    with trio.fail_after(300):
        async with connect(node.ws, creator.token) as a:
            await welcomed(a)
            await _join(a, room)
            await a.send(Leave(id=1, room=room))
            await a.expect(Ack, id=1)
            assert room in node.node.hub.rooms
            left = trio.current_time()
            while room in node.node.hub.rooms:  # noqa: ASYNC110 (polling virtual time)
                await trio.sleep(1)
    assert 59 <= trio.current_time() - left <= 70


async def test_fifty_rooms_per_connection(node: RunningNode, storage) -> None:
    creator = await make_user(storage, "creator")
    pitches = [await make_pitch(storage, creator) for _ in range(51)]
    with trio.fail_after(60):
        async with connect(node.ws, creator.token) as a:
            await welcomed(a)
            for pitch_id in pitches[:50]:
                assert isinstance(await _join(a, f"pitch:{pitch_id}"), Joined)
            error = await _join(a, f"pitch:{pitches[50]}")
    assert isinstance(error, ErrorMessage) and error.code == ErrorCode.TOO_MANY_ROOMS
