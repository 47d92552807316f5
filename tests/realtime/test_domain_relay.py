"""Domain events from the HTTP side reach the right sockets: notifications, NDA status,
and a revoked NDA removing its holder from the protected pitch room."""

from __future__ import annotations

import trio
from ws_client import connect, welcomed

from protocol import (
    ErrorCode,
    ErrorMessage,
    Join,
    Joined,
    Kicked,
    MemberLeft,
    NdaStatus,
    Notification,
)
from storage import publish_domain_event

from support import RunningNode, make_pitch, make_user


async def test_notification_reaches_every_connection_of_its_user(
    node: RunningNode, storage
) -> None:
    user, other = await make_user(storage), await make_user(storage)
    note = {"id": 5, "kind": "nda_approved", "title": "Approved", "body": "", "createdAt": 1}
    with trio.fail_after(10):
        async with (
            connect(node.ws, user.token) as tab1,
            connect(node.ws, user.token) as tab2,
            connect(node.ws, other.token) as bystander,
        ):
            for client in (tab1, tab2, bystander):
                await welcomed(client)
            await publish_domain_event(
                storage, "notification", {"userId": user.id, "notification": note}
            )
            first, second = await tab1.expect(Notification), await tab2.expect(Notification)
            with trio.move_on_after(0.3):
                await bystander.expect(Notification)
                raise AssertionError("notification went to another user")
    assert first == second
    assert (first.id, first.kind, first.title) == (5, "nda_approved", "Approved")


async def test_revoked_nda_kicks_its_holder_from_the_pitch_room(node: RunningNode, storage) -> None:
    creator, investor = await make_user(storage, "creator"), await make_user(storage)
    pitch_id = await make_pitch(storage, creator, require_nda=True)
    room = f"pitch:{pitch_id}"
    nda_id = await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO ndas (pitch_id, requester_id, owner_id, status, signed_at) "
            "VALUES ($1, $2, $3, 'signed', now()) RETURNING id",
            pitch_id,
            investor.id,
            creator.id,
        )
    )
    with trio.fail_after(15):
        async with connect(node.ws, creator.token) as a, connect(node.ws, investor.token) as b:
            await welcomed(a), await welcomed(b)
            await a.send(Join(room=room))
            await a.expect(Joined)
            await b.send(Join(room=room))
            await b.expect(Joined)
            await storage.transaction(
                lambda conn: conn.execute(
                    "UPDATE ndas SET status = 'revoked', revoked_at = now() WHERE id = $1", nda_id
                )
            )
            await publish_domain_event(
                storage,
                "nda_changed",
                {
                    "ndaId": nda_id,
                    "pitchId": pitch_id,
                    "requesterId": investor.id,
                    "ownerId": creator.id,
                    "status": "revoked",
                },
            )
            status = await b.expect(NdaStatus)
            kicked = await b.expect(Kicked)
            left = await a.expect(MemberLeft)
            owner_status = await a.expect(NdaStatus)
            await b.send(Join(id="again", room=room))
            refused = await b.expect(ErrorMessage, id="again")
    assert (status.nda_id, status.status) == (nda_id, "revoked") == (owner_status.nda_id, "revoked")
    assert kicked == Kicked(room=room, reason="nda_revoked")
    assert left.user_id == investor.id
    assert refused.code == ErrorCode.FORBIDDEN
