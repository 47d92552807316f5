"""Three ``pitchey serve`` processes on one PostgreSQL and Redis: one room across them.

Each test checks, for every client, that durable events arrive with contiguous sequence
numbers (across reconnects, via ``join since``) and that every acknowledged chat reached
everyone; then what its scenario is about: one order everywhere, a node killed, a node
drained.
"""

from __future__ import annotations

import time

import trio
from cluster_support import Member, NodeProcess, node_metrics, start_members, wait_for

from support import make_pitch, make_user

CEILING = 60


async def _members(storage, cluster, room: str, homes: list[int], *, users=None) -> list[Member]:
    users = users or [await make_user(storage) for _ in homes]
    return [
        Member(f"m{i}", user, room, cluster.nodes, home)
        for i, (user, home) in enumerate(zip(users, homes, strict=True))
    ]


async def _room(storage) -> str:
    owner = await make_user(storage, "creator")
    return f"pitch:{await make_pitch(storage, owner)}"


def _assert_everyone_saw(members: list[Member], acked: dict[str, int]) -> None:
    for member in members:
        assert member.errors == [], (member.name, member.errors[:5])
        chats = member.chats()
        missing = {cid: seq for cid, seq in acked.items() if chats.get(cid) != seq}
        assert not missing, (member.name, len(missing))
        seqs = member.seqs()
        assert seqs == list(range(member.first_seq + 1, member.first_seq + 1 + len(seqs)))


def _no_error_logs(node: NodeProcess) -> list[dict]:
    return [r for r in node.log_records() if r.get("level") in ("error", "critical", "raw")]


async def test_every_client_gets_every_event_in_one_order(cluster, storage) -> None:
    """12 publishers, four per node, 2,040 chats: one order, contiguous, on every client."""
    cluster.restore()
    room = await _room(storage)
    members = await _members(storage, cluster, room, [i % 3 for i in range(12)])
    per_member, acked = 170, {}
    with trio.fail_after(2 * CEILING):
        async with trio.open_nursery() as nursery:
            await start_members(nursery, members)

            async def publish(member: Member) -> None:
                for n in range(per_member):
                    await member.send_chat(f"{member.name} says {n}")
                    await trio.sleep(0.055)  # under the 20 messages/s per connection limit
                await wait_for(
                    lambda: member.unacked == 0,
                    40,  # generous: the machine is shared, PostgreSQL commits can stall
                    lambda: (
                        f"acks of {member.name}: {member.unacked} missing, errors "
                        f"{member.errors[:3]}, closes {member.closes}, last seq {member.last_seq} "
                        f"of {max(m.last_seq for m in members)}; {node_metrics(cluster.nodes)}"
                    ),
                )
                acked.update(member.acked)

            started = time.monotonic()
            async with trio.open_nursery() as publishers:
                for member in members:
                    publishers.start_soon(publish, member)
            elapsed = time.monotonic() - started
            last = max(acked.values())
            await wait_for(lambda: all(m.last_seq >= last for m in members), 15, "delivery")
            nursery.cancel_scope.cancel()
    assert len(acked) == len(members) * per_member
    _assert_everyone_saw(members, acked)
    common = max(m.first_seq for m in members)
    orders = {tuple(e for e in m.events if e[0] > common) for m in members}
    assert len(orders) == 1  # the same events, in the same order, everywhere
    print(f"\n{len(acked)} chats from 12 publishers on 3 nodes in {elapsed:.1f}s")


async def test_sigterm_drain_costs_clients_nothing_but_a_reconnect(cluster, storage) -> None:
    """Node 1 drains during traffic: its clients get goaway (jittered), reconnect to the
    other nodes, resume with since; nobody sees an error or loses an acknowledged chat."""
    cluster.restore()
    room = await _room(storage)
    members = await _members(storage, cluster, room, [0, 1, 2, 0, 1, 2])
    draining = cluster.nodes[1]
    stop = trio.Event()
    with trio.fail_after(CEILING):
        async with trio.open_nursery() as nursery:
            await start_members(nursery, members)

            async with trio.open_nursery() as publishers:
                for member in members:
                    publishers.start_soon(member.chat_until, stop, 0.15)
                await wait_for(lambda: sum(len(m.acked) for m in members) >= 30, 10, "traffic")
                for member in members:
                    if member.node == 1:
                        member.node = 2  # where the load balancer sends it next
                drained_at = time.monotonic()
                draining.terminate()
                await wait_for(lambda: not draining.alive, 15, "node 1 to exit")
                drain_seconds = time.monotonic() - drained_at
                moved = [m for m in members if m.goaways]
                await wait_for(lambda: all(m.connected for m in members), 10, "reconnects")
                before = sum(len(m.acked) for m in members)
                await wait_for(
                    lambda: sum(len(m.acked) for m in members) >= before + 12, 10, "more"
                )
                stop.set()
            acked = {cid: seq for m in members for cid, seq in m.acked.items()}
            last = max(acked.values())
            await wait_for(lambda: all(m.last_seq >= last for m in members), 10, "delivery")
            nursery.cancel_scope.cancel()
    assert draining.proc is not None and draining.proc.returncode == 0
    assert drain_seconds < 10
    assert sorted(m.name for m in moved) == ["m1", "m4"]
    assert all(m.closes == [1001] for m in moved)
    assert all(1000 <= m.goaways[0] <= 10000 for m in moved)
    _assert_everyone_saw(members, acked)
    assert _no_error_logs(draining) == []
    print(
        f"\nnode 1 drained in {drain_seconds:.2f}s; goaway retryAfterMs: "
        f"{[m.goaways[0] for m in moved]}"
    )


async def test_kill_9_loses_no_acknowledged_chat_and_presence_follows(cluster, storage) -> None:
    """Node 2 is killed. m4 comes back through node 0 and resumes; m5 does not come back;
    user A also has a tab on node 0. Only m5 is announced gone, within 15 s."""
    cluster.restore()
    room = await _room(storage)
    a, b, c, d, e = [await make_user(storage) for _ in range(5)]
    # m0: A@0, m1: B@0, m2: C@1, m3: A@2 (second tab), m4: D@2 (returns), m5: E@2 (gone)
    members = await _members(storage, cluster, room, [0, 0, 1, 2, 2, 2], users=[a, b, c, a, d, e])
    observers = members[:3]
    stop = trio.Event()
    with trio.fail_after(CEILING):
        async with trio.open_nursery() as nursery:
            await start_members(nursery, members)
            everyone = {a.id, b.id, c.id, d.id, e.id}
            await wait_for(
                lambda: all(
                    everyone <= set(m.entered()) | {u["id"] for u in m.joins[0]["members"]}
                    for m in observers
                ),
                10,
                "all members announced",
            )

            async with trio.open_nursery() as publishers:
                for member in (members[1], members[2], members[4]):
                    publishers.start_soon(member.chat_until, stop, 0.1)
                await wait_for(lambda: len(members[4].acked) >= 10, 10, "traffic")
                members[3].abandon()
                members[5].abandon()
                members[4].node = 0
                killed_at = time.monotonic()
                cluster.nodes[2].kill()
                await wait_for(lambda: members[4].connected, 10, "m4 back through node 0")
                gone_after = await wait_for(
                    lambda: all(e.id in m.left() for m in observers), 15, "E announced gone"
                )
                gone_after = time.monotonic() - killed_at
                await wait_for(lambda: len(members[4].acked) >= 25, 10, "traffic after")
                stop.set()
            survivors = [m for m in members if not m.abandoned]
            acked = {cid: seq for m in survivors for cid, seq in m.acked.items()}
            last = max(acked.values())
            await wait_for(lambda: all(m.last_seq >= last for m in survivors), 10, "delivery")
            nursery.cancel_scope.cancel()
    assert gone_after < 15
    for member in observers:
        assert member.left() == [e.id]  # A (a tab left on node 0) and D (came back) stay
        assert member.entered().count(d.id) <= 1
    rejoined = members[4].joins[-1]
    ids = [u["id"] for u in rejoined["members"]]
    assert sorted(ids) == sorted(set(ids)) and d.id in ids and a.id in ids
    _assert_everyone_saw(survivors, acked)
    print(f"\nkilled node's lone member announced gone after {gone_after:.2f}s")
