"""What the HTTP side changes reaches the rooms live: pitch edits and conversation
messages share the rooms' sequences with what is sent on the sockets."""

from __future__ import annotations

import httpx
import trio
from ws_client import connect, welcomed

from protocol import (
    Ack,
    ClientChat,
    Conflict,
    Join,
    Joined,
    Notification,
    PitchUpdate,
    PitchUpdated,
    ServerChat,
)

from support import RunningNode, make_pitch, make_user


def _auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def test_http_patch_reaches_the_pitch_room_and_conflicts_live_edits(
    node: RunningNode, storage
) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    pitch_id = await make_pitch(storage, creator)
    room = f"pitch:{pitch_id}"
    with trio.fail_after(20):
        async with connect(node.ws, investor.token) as b, connect(node.ws, creator.token) as a:
            await welcomed(b), await welcomed(a)
            await b.send(Join(room=room))
            seen_version = (await b.expect(Joined)).pitch["version"]
            await a.send(Join(room=room))
            await a.expect(Joined)
            async with httpx.AsyncClient(base_url=node.http) as http:
                response = await http.patch(
                    f"/api/pitches/{pitch_id}",
                    json={"version": seen_version, "title": "Edited over HTTP"},
                    headers=_auth(creator),
                )
            assert response.status_code == 200, response.text
            update = await b.expect(PitchUpdated)
            assert update.fields == {"title": "Edited over HTTP"}
            assert update.version == seen_version + 1
            await a.send(
                PitchUpdate(id="late", room=room, version=seen_version, fields={"title": "Late"})
            )
            conflict = await a.expect(Conflict, id="late")
    assert conflict.fields == {"title": "Edited over HTTP"}


async def test_conversation_messages_share_one_sequence_over_http_and_sockets(
    node: RunningNode, storage
) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    async with httpx.AsyncClient(base_url=node.http) as http:
        opened = await http.post(
            "/api/conversations", json={"userId": creator.id}, headers=_auth(investor)
        )
        assert opened.status_code in (200, 201), opened.text
        cid = opened.json()["data"]["id"]
        room = f"conversation:{cid}"
        with trio.fail_after(20):
            async with connect(node.ws, creator.token) as a:
                await welcomed(a)
                await a.send(Join(room=room))
                await a.expect(Joined)
                posted = await http.post(
                    f"/api/conversations/{cid}/messages",
                    json={"body": "over http", "clientId": "h1"},
                    headers=_auth(investor),
                )
                assert posted.status_code == 201, posted.text
                live = await a.expect(ServerChat)
                assert (live.body, live.user_id) == ("over http", investor.id)
                await a.send(ClientChat(id="w", room=room, body="over ws", client_id="w1"))
                ack = await a.expect(Ack, id="w")
        listed = await http.get(f"/api/conversations/{cid}/messages", headers=_auth(investor))
        notes = await http.get("/api/notifications", headers=_auth(creator))
    # stored for the creator, but not pushed into the room that already shows the message
    assert [n["kind"] for n in notes.json()["data"]] == ["new_message"]
    assert not [m for m in a.seen + a.unclaimed if isinstance(m, Notification)]
    assert ack.seq == live.seq + 1
    bodies = [(m["seq"], m["body"]) for m in listed.json()["data"]]
    assert bodies == [(live.seq, "over http"), (ack.seq, "over ws")]
