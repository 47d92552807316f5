"""Access follows the NDA's state at once: on another node's sockets, and over HTTP."""

from __future__ import annotations

import trio
from nda_support import http, insert_nda, parties, running_node
from ws_client import connect, welcomed

from protocol import ErrorCode, ErrorMessage, Join, Joined, Kicked, NdaStatus

from support import RunningNode, Servers


async def test_revocation_kicks_the_holder_from_the_room_on_another_node_within_a_second(
    node: RunningNode, servers: Servers, storage
) -> None:
    owner, requester, pitch_id = await parties(storage)
    nda_id = await insert_nda(storage, owner, requester, pitch_id, status="signed")
    room = f"pitch:{pitch_id}"
    with trio.fail_after(30):
        async with running_node(servers) as other, connect(other.ws, requester.token) as b:
            await welcomed(b)
            await b.send(Join(room=room))
            await b.expect(Joined)
            await http(node, "POST", f"/api/ndas/{nda_id}/revoke", owner)
            with trio.fail_after(1):
                kicked = await b.expect(Kicked)
            status = await b.expect(NdaStatus)
            await b.send(Join(id="again", room=room))
            refused = await b.expect(ErrorMessage, id="again")
    assert kicked == Kicked(room=room, reason="nda_revoked")
    assert (status.nda_id, status.status) == (nda_id, "revoked")
    assert refused.code == ErrorCode.FORBIDDEN


async def test_protected_content_is_never_served_after_revocation(
    node: RunningNode, storage
) -> None:
    owner, requester, pitch_id = await parties(storage)
    nda_id = await insert_nda(storage, owner, requester, pitch_id, status="signed")
    with trio.fail_after(20):
        before = await http(node, "GET", f"/api/pitches/{pitch_id}", requester)
        await http(node, "POST", f"/api/ndas/{nda_id}/revoke", owner)
        after = await http(node, "GET", f"/api/pitches/{pitch_id}", requester)
    assert before["protectedContent"]["budgetBreakdown"] == "secret numbers"
    assert "protectedContent" not in after and after["ndaRequired"] is True


async def test_a_signature_lets_an_open_connection_join_without_reconnecting(
    node: RunningNode, storage
) -> None:
    owner, requester, pitch_id = await parties(storage)
    nda_id = await insert_nda(storage, owner, requester, pitch_id, status="approved")
    room = f"pitch:{pitch_id}"
    with trio.fail_after(20):
        async with connect(node.ws, requester.token) as b:
            await welcomed(b)
            await b.send(Join(id="early", room=room))
            assert (await b.expect(ErrorMessage, id="early")).code == ErrorCode.FORBIDDEN
            await http(
                node, "POST", f"/api/ndas/{nda_id}/sign", requester,
                json={"fullName": "Ida Investor", "accept": True},
            )  # fmt: skip
            await b.expect(NdaStatus, status="signed")
            await b.send(Join(room=room))
            joined = await b.expect(Joined)
    assert joined.pitch["protectedContent"]["budgetBreakdown"] == "secret numbers"
