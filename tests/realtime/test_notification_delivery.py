"""Notifications a client was away for arrive after ``welcome``; muted kinds never live."""

from __future__ import annotations

import trio
from nda_support import http, parties
from ws_client import connect, welcomed

from protocol import (
    Join,
    Joined,
    NdaStatus,
    Notification,
    ServerChat,
    Welcome,
    conversation_room,
)

from support import RunningNode, make_pitch, make_user


async def _notify(storage, user_id: int, kind: str, *, read: bool = False) -> int:
    return await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO notifications (user_id, kind, title, read_at) "
            "VALUES ($1, $2, $2, CASE WHEN $3 THEN now() END) RETURNING id",
            user_id,
            kind,
            read,
        )
    )


async def _mute(storage, user_id: int, *kinds: str) -> None:
    await storage.transaction(
        lambda conn: conn.execute(
            "UPDATE users SET muted_notification_kinds = $2 WHERE id = $1", user_id, list(kinds)
        )
    )


async def test_a_reconnecting_client_gets_its_unread_notifications_newest_first(
    node: RunningNode, storage
) -> None:
    user = await make_user(storage)
    await _mute(storage, user.id, "pitch_liked")
    older = await _notify(storage, user.id, "new_message")
    await _notify(storage, user.id, "nda_approved", read=True)
    await _notify(storage, user.id, "pitch_liked")
    newer = await _notify(storage, user.id, "new_follower")
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            assert isinstance(await welcomed(client), Welcome)
            first, second = await client.expect(Notification), await client.expect(Notification)
            with trio.move_on_after(0.3):
                extra = await client.expect(Notification)
                raise AssertionError(f"read or muted notification sent: {extra}")
    assert [first.id, second.id] == [newer, older]


async def test_a_muted_kind_is_stored_but_not_pushed(node: RunningNode, storage) -> None:
    owner, requester, pitch_id = await parties(storage)
    await _mute(storage, owner.id, "nda_requested")
    with trio.fail_after(15):
        async with connect(node.ws, owner.token) as a:
            await welcomed(a)
            await http(node, "POST", f"/api/pitches/{pitch_id}/nda", requester, json={})
            await a.expect(NdaStatus, status="pending")
            with trio.move_on_after(0.5):
                note = await a.expect(Notification)
                raise AssertionError(f"muted notification pushed: {note}")
        listed = await http(node, "GET", "/api/notifications", owner)
    assert [n["kind"] for n in listed] == ["nda_requested"]


async def test_an_unmuted_kind_is_pushed_to_every_open_connection(
    node: RunningNode, storage
) -> None:
    owner, requester, pitch_id = await parties(storage)
    await _mute(storage, owner.id, "pitch_liked")
    with trio.fail_after(15):
        async with connect(node.ws, owner.token) as a, connect(node.ws, owner.token) as a2:
            await welcomed(a), await welcomed(a2)
            await http(node, "POST", f"/api/pitches/{pitch_id}/nda", requester, json={})
            first, second = await a.expect(Notification), await a2.expect(Notification)
    assert first == second and first.kind == "nda_requested"


async def test_a_like_and_a_follow_notify_live_once_while_unread(
    node: RunningNode, storage
) -> None:
    owner, fan = await make_user(storage, "creator"), await make_user(storage)
    pitch_id = await make_pitch(storage, owner)
    with trio.fail_after(15):
        async with connect(node.ws, owner.token) as a:
            await welcomed(a)
            await http(node, "POST", f"/api/pitches/{pitch_id}/like", fan)
            liked = await a.expect(Notification)
            await http(node, "DELETE", f"/api/pitches/{pitch_id}/like", fan)
            await http(node, "POST", f"/api/pitches/{pitch_id}/like", fan)  # still unread
            await http(node, "POST", f"/api/users/{owner.id}/follow", fan)
            followed = await a.expect(Notification)
            await http(node, "POST", f"/api/pitches/{pitch_id}/like", owner)  # own pitch
        listed = await http(node, "GET", "/api/notifications", owner)
    assert (liked.kind, liked.data) == ("pitch_liked", {"pitchId": pitch_id, "userId": fan.id})
    assert (followed.kind, followed.data) == ("new_follower", {"userId": fan.id})
    assert [n["kind"] for n in listed] == ["new_follower", "pitch_liked"]


async def test_new_message_skips_connections_already_in_the_conversation(
    node: RunningNode, storage
) -> None:
    a, b = await make_user(storage, "creator"), await make_user(storage)
    opened = await http(node, "POST", "/api/conversations", a, json={"userId": b.id})
    room = conversation_room(opened["id"])
    with trio.fail_after(15):
        async with connect(node.ws, b.token) as inside, connect(node.ws, b.token) as away:
            await welcomed(inside), await welcomed(away)
            await inside.send(Join(room=room))
            await inside.expect(Joined)
            await http(
                node, "POST", f"/api/conversations/{opened['id']}/messages", a, json={"body": "hi"}
            )
            assert (await inside.expect(ServerChat)).body == "hi"
            notice = await away.expect(Notification)
            with trio.move_on_after(0.3):
                extra = await inside.expect(Notification)
                raise AssertionError(f"new_message pushed into the room it came from: {extra}")
    assert notice.kind == "new_message" and notice.body == "hi"
