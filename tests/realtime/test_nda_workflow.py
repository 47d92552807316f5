"""NDA workflow actors on real nodes: live steps, timers that fire once (also across
restarts and with several nodes), access that follows the NDA's state."""

from __future__ import annotations

import trio
from nda_support import audit_rows, count, http, insert_nda, parties, running_node, wait_for
from ws_client import connect, welcomed

from protocol import Join, Joined, Kicked, NdaStatus, Notification
from storage import NdaTimer

from support import RunningNode, Servers


async def test_request_to_signature_is_seen_live_by_both_parties_in_order(
    node: RunningNode, storage
) -> None:
    owner, requester, pitch_id = await parties(storage)
    with trio.fail_after(20):
        async with connect(node.ws, owner.token) as a, connect(node.ws, requester.token) as b:
            await welcomed(a), await welcomed(b)
            nda = await http(node, "POST", f"/api/pitches/{pitch_id}/nda", requester, json={})
            await a.expect(NdaStatus, status="pending"), await b.expect(NdaStatus, status="pending")
            assert (await a.expect(Notification)).kind == "nda_requested"
            ndas = node.node.ndas
            await wait_for(lambda: nda["id"] in ndas.actors)

            await http(node, "POST", f"/api/ndas/{nda['id']}/approve", owner, json={})
            (
                await a.expect(NdaStatus, status="approved"),
                await b.expect(NdaStatus, status="approved"),
            )
            assert (await b.expect(Notification)).kind == "nda_approved"

            await http(
                node, "POST", f"/api/ndas/{nda['id']}/sign", requester,
                json={"fullName": "Ida Investor", "accept": True},
            )  # fmt: skip
            await a.expect(NdaStatus, status="signed"), await b.expect(NdaStatus, status="signed")
            assert (await a.expect(Notification)).kind == "nda_signed"
            await b.send(Join(room=f"pitch:{pitch_id}"))
            joined = await b.expect(Joined)
    for client in (a, b):
        statuses = [m.status for m in client.seen if isinstance(m, NdaStatus)]
        assert statuses == ["pending", "approved", "signed"]
    assert joined.pitch["protectedContent"]["budgetBreakdown"] == "secret numbers"
    assert nda["id"] in ndas.actors  # a signed NDA still has its expiry to drive


async def test_a_rejected_request_stops_its_actor(node: RunningNode, storage) -> None:
    owner, requester, pitch_id = await parties(storage)
    with trio.fail_after(10):
        nda = await http(node, "POST", f"/api/pitches/{pitch_id}/nda", requester, json={})
        ndas = node.node.ndas
        await wait_for(lambda: nda["id"] in ndas.actors)
        await http(node, "POST", f"/api/ndas/{nda['id']}/reject", owner, json={"reason": "No"})
        await wait_for(lambda: not ndas.supervisor.has_child(nda["id"]))


async def test_pending_request_expires_once_across_a_restart(
    servers: Servers, storage, autojump
) -> None:
    owner, requester, pitch_id = await parties(storage)
    nda_id = await insert_nda(storage, owner, requester, pitch_id, expires_at="20 seconds")
    with trio.fail_after(120):
        async with running_node(servers) as first:
            assert first.node.ndas.owns(nda_id) and nda_id in first.node.ndas.actors
            await trio.sleep(5)
        async with running_node(servers) as second, connect(second.ws, requester.token) as b:
            await welcomed(b)
            status = await b.expect(NdaStatus)
            await trio.sleep(30)
        async with running_node(servers) as third:
            await trio.sleep(30)
    assert (status.nda_id, status.status) == (nda_id, "expired")
    assert [n for n in first.node.ndas.fired if n[0] == nda_id] == []
    assert [n for n in second.node.ndas.fired if n[0] == nda_id] == [(nda_id, NdaTimer.EXPIRE)]
    assert [n for n in third.node.ndas.fired if n[0] == nda_id] == []
    assert await audit_rows(storage, nda_id, "nda.expired") == 1
    expired_notes = "SELECT count(*) FROM notifications WHERE kind = 'nda_expired' AND user_id = $1"
    assert await count(storage, expired_notes, requester.id) == 1


async def test_signed_nda_expiry_kicks_its_holder_once(servers: Servers, storage, autojump) -> None:
    owner, requester, pitch_id = await parties(storage)
    nda_id = await insert_nda(
        storage, owner, requester, pitch_id, status="signed", expires_at="30 seconds"
    )
    room = f"pitch:{pitch_id}"
    with trio.fail_after(120):
        async with running_node(servers) as first, connect(first.ws, requester.token) as b:
            await welcomed(b)
            await b.send(Join(room=room))
            assert "protectedContent" in (await b.expect(Joined)).pitch
            kicked = await b.expect(Kicked)
            await trio.sleep(5)
        async with running_node(servers) as second:
            await trio.sleep(40)
    assert kicked == Kicked(room=room, reason="nda_expired")
    assert [n for n in second.node.ndas.fired if n[0] == nda_id] == []
    assert await audit_rows(storage, nda_id, "nda.expired") == 1


async def test_reminders_fire_once_for_owner_and_requester(
    servers: Servers, storage, autojump
) -> None:
    owner, requester, pitch_id = await parties(storage)
    pending = await insert_nda(storage, owner, requester, pitch_id, requested_at="-3 days")
    _, other, _ = await parties(storage)
    approved = await insert_nda(
        storage, owner, other, pitch_id, status="approved", responded_at="-7 days -1 second"
    )
    with trio.fail_after(120):
        async with (
            running_node(servers) as first,
            connect(first.ws, owner.token) as a,
            connect(first.ws, other.token) as c,
        ):
            await welcomed(a), await welcomed(c)
            to_owner, to_requester = await a.expect(Notification), await c.expect(Notification)
        async with running_node(servers):
            await trio.sleep(10)
    assert (to_owner.kind, to_owner.data["ndaId"]) == ("nda_reminder", pending)
    assert (to_requester.kind, to_requester.data["ndaId"]) == ("nda_reminder", approved)
    for nda_id in (pending, approved):
        assert await audit_rows(storage, nda_id, "nda.reminder") == 1


async def test_two_nodes_starting_together_never_fire_the_same_timer(
    servers: Servers, storage, autojump
) -> None:
    owner, _, pitch_id = await parties(storage)
    nda_ids = []
    for _ in range(12):
        _, someone, _ = await parties(storage)
        nda_ids.append(await insert_nda(storage, owner, someone, pitch_id, expires_at="15 seconds"))
    fired, owned = [], []

    async def start() -> None:
        async with running_node(servers) as running:
            await trio.sleep(60)
            fired.append({nda_id for nda_id, _ in running.node.ndas.fired})
            owned.append(running.node.ndas.owned)

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(start)
            nursery.start_soon(start)
    assert not owned[0] & owned[1] and len(owned[0] | owned[1]) == 16
    assert not fired[0] & fired[1]
    assert set(nda_ids) <= fired[0] | fired[1]
    for nda_id in nda_ids:
        assert await audit_rows(storage, nda_id, "nda.expired") == 1


async def test_a_surviving_node_takes_over_the_shards_of_a_stopped_one(
    servers: Servers, autojump
) -> None:
    stop_owner = trio.Event()

    async def owner_node(*, task_status: trio.TaskStatus[RunningNode]) -> None:
        async with running_node(servers) as owner:
            task_status.started(owner)
            await stop_owner.wait()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            owner = await nursery.start(owner_node)
            async with running_node(servers) as survivor:
                assert len(owner.node.ndas.owned) == 16 and not survivor.node.ndas.owned
                stop_owner.set()
                stopped = trio.current_time()
                await wait_for(lambda: len(survivor.node.ndas.owned) == 16)
                assert trio.current_time() - stopped < 3
