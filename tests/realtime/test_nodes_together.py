"""Two nodes in one process on the same PostgreSQL and Redis: one room across them,
presence counted once, the admin's node list, per-node metrics, a drain without crashes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from ws_client import connect, welcomed

from protocol import (
    Ack,
    ClientChat,
    ClientPresence,
    ClientTyping,
    Join,
    Joined,
    Leave,
    MemberJoined,
    ServerChat,
    ServerPresence,
    ServerTyping,
)
from realtime import Node
from realtime._logging import configure_logging
from storage import read_history

from support import RunningNode, Servers, make_pitch, make_user, node_settings


@pytest.fixture
async def pair(servers: Servers) -> AsyncIterator[tuple[RunningNode, RunningNode]]:
    nodes = [
        Node(node_settings(servers, NODE_ID=name, NODE_LEASE_TTL_MS="600", DRAIN_TIMEOUT="5"))
        for name in ("alpha", "beta")
    ]
    async with trio.open_nursery() as nursery:
        running = [RunningNode(node, await nursery.start(node.run)) for node in nodes]
        yield running[0], running[1]
        for node in nodes:
            node.request_shutdown()


async def _join(client, room: str) -> Joined:
    await client.send(Join(id="j", room=room))
    return await client.expect(Joined)


async def _wait_recorded(node: RunningNode, room: str, user_id: int, present: bool) -> None:
    """Until ``node``'s room has (or no longer has) ``user_id`` recorded in Redis."""
    hub = node.node.hub
    while True:  # the room's state has no event for it: poll
        actor = hub.rooms.get(room)
        if actor is not None and (user_id in actor.presence.recorded) == present:
            return
        await trio.sleep(0.02)


async def test_members_on_two_nodes_share_one_room(pair, storage) -> None:
    alpha, beta = pair
    a, b = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, a)}"
    with trio.fail_after(20):
        async with connect(alpha.ws, a.token) as ca, connect(beta.ws, b.token) as cb:
            assert (await welcomed(ca)).node == "alpha" and (await welcomed(cb)).node == "beta"
            await _join(ca, room)
            await ca.expect(MemberJoined)
            joined = await _join(cb, room)
            assert {m["id"] for m in joined.members} == {a.id, b.id}
            seen = await ca.expect(MemberJoined)
            assert seen.user["id"] == b.id

            await cb.send(ClientTyping(room=room, typing=True))
            typing = await ca.expect(ServerTyping)
            assert (typing.user_id, typing.typing) == (b.id, True)
            await cb.send(ClientPresence(status="away"))
            presence = await ca.expect(ServerPresence)
            assert (presence.user_id, presence.status) == (b.id, "away")

            await ca.send(ClientChat(id="c", room=room, body="across nodes", client_id="x1"))
            ack = await ca.expect(Ack, id="c")
            chat = await cb.expect(ServerChat)
            assert (chat.seq, chat.body) == (ack.seq, "across nodes")

            c = await make_user(storage)
            async with connect(alpha.ws, c.token) as cc:  # b's status, as alpha knows it
                await welcomed(cc)
                joined_c = await _join(cc, room)
            assert joined_c.presence[str(b.id)] == "away"


async def test_a_user_on_both_nodes_is_one_member(pair, storage) -> None:
    alpha, beta = pair
    owner, a = await make_user(storage, "creator"), await make_user(storage)
    room = f"pitch:{await make_pitch(storage, owner)}"
    with trio.fail_after(20):
        async with connect(alpha.ws, a.token) as tab1:
            await welcomed(tab1)
            await _join(tab1, room)
            await tab1.expect(MemberJoined)
            async with connect(beta.ws, a.token) as tab2:
                await welcomed(tab2)
                joined = await _join(tab2, room)
                assert [m["id"] for m in joined.members] == [a.id]
                await _wait_recorded(beta, room, a.id, True)
                await tab1.send(Leave(id="l", room=room))
                await tab1.expect(Ack, id="l")
                await _wait_recorded(alpha, room, a.id, False)
            await _wait_recorded(beta, room, a.id, False)
    _, events = await read_history(storage, room)
    assert [e["type"] for e in events] == ["member_joined", "member_left"]


async def test_admin_lists_live_nodes_with_their_counts(pair, storage) -> None:
    alpha, beta = pair
    admin, someone = await make_user(storage, "admin"), await make_user(storage)
    with trio.fail_after(20):
        async with connect(beta.ws, someone.token) as client, httpx.AsyncClient() as http:
            await welcomed(client)
            while True:
                response = await http.get(
                    f"{alpha.http}/api/admin/nodes",
                    headers={"Authorization": f"Bearer {admin.token}"},
                )
                assert response.status_code == 200
                nodes = {n["node"]: n for n in response.json()["data"]}
                if nodes.get("beta", {}).get("connections") == 1:
                    break
                await trio.sleep(0.05)
            refused = await http.get(
                f"{alpha.http}/api/admin/nodes",
                headers={"Authorization": f"Bearer {someone.token}"},
            )
            anonymous = await http.get(f"{alpha.http}/api/admin/nodes")
    assert {"alpha", "beta"} <= set(nodes)
    assert nodes["alpha"]["lease"].startswith("alpha/")
    assert nodes["beta"]["leaseExpiresAt"] > nodes["beta"]["startedAt"]
    assert refused.status_code == 403 and anonymous.status_code == 401


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_are_per_node_and_count_traffic(pair, storage) -> None:
    alpha, beta = pair
    a = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, a)}"
    with trio.fail_after(20):
        async with connect(alpha.ws, a.token) as client, httpx.AsyncClient() as http:
            await welcomed(client)
            await _join(client, room)
            await client.send(ClientChat(id="c", room=room, body="counted", client_id="k"))
            await client.expect(Ack, id="c")
            await client.expect(ServerChat)
            await http.get(f"{alpha.http}/health")
            response = await http.get(f"{alpha.http}/metrics")
            other = await http.get(f"{beta.http}/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    got = _samples(response.text)
    node = ("node", "alpha")

    def value(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted([node, *labels.items()])))]

    assert value("pitchey_connections") == 1 and value("pitchey_rooms") == 1
    assert value("pitchey_messages_in_total", kind="chat") == 1
    assert value("pitchey_messages_in_total", kind="join") == 1
    assert value("pitchey_messages_out_total", kind="chat") == 1
    assert value("pitchey_messages_out_total", kind="ack") == 1
    assert value("pitchey_fanout_deliveries_total") >= 2  # member_joined, chat
    assert value("pitchey_bus_publish_seconds_count") >= 2
    assert value("pitchey_bus_up") == 1
    assert value("pitchey_db_pool_connections", state="max") == 10
    health = ("pitchey_http_request_duration_seconds_count",)
    labels = (node, ("method", "GET"), ("route", "/health"), ("status", "200"))
    assert got[(*health, tuple(sorted(labels)))] == 1
    assert ("pitchey_node_info", (("node", "beta"),)) in _samples(other.text)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_drain_with_busy_rooms_logs_no_crash(servers: Servers, storage) -> None:
    configure_logging(level="info", fmt="json", node_id="drain-test")
    records = _Records()
    logging.getLogger().addHandler(records)
    users = [await make_user(storage, "creator") for _ in range(3)]
    rooms = [f"pitch:{await make_pitch(storage, u)}" for u in users]
    node = Node(node_settings(servers, NODE_ID="drained", DRAIN_TIMEOUT="5"))
    try:
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                running = RunningNode(node, await nursery.start(node.run))
                async with (
                    connect(running.ws, users[0].token) as c0,
                    connect(running.ws, users[1].token) as c1,
                ):
                    for client in (c0, c1):
                        await welcomed(client)
                        for room in rooms:
                            await _join(client, room)
                    await c0.send(ClientChat(id=1, room=rooms[0], body="last", client_id="z"))
                    node.request_shutdown()  # while the chat may still be in flight
                    with pytest.raises(Exception):  # noqa: B017 (closed with 1001: any close)
                        while True:
                            await c0.recv()
    finally:
        logging.getLogger().removeHandler(records)
    events = [r.msg.get("event") for r in records.records if isinstance(r.msg, dict)]
    assert "node_drained" in events and "lease_released" in events
    assert "actor_crashed" not in events
    assert [r for r in records.records if r.levelno >= logging.ERROR] == []
    acked = [m for m in c0.seen if isinstance(m, Ack) and m.id == 1]
    stored = await storage.connection(
        lambda conn: conn.fetchval("SELECT count(*) FROM messages WHERE room = $1", rooms[0])
    )
    assert len(acked) == stored  # acknowledged if and only if stored
