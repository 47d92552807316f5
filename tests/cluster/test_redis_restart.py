"""Three nodes on a Redis of the test's own, restarted during traffic.

While Redis is away chats fail loudly (``error unavailable``, never an ack) and ``/ready``
is 503; once it is back, every node acknowledges chats and reports ready again within 5 s,
and every chat that was ever acknowledged reaches every client, in one contiguous order
(the rooms fill what the bus missed from the history Redis kept on disk). Redis is stopped
with SIGTERM, so it writes its append-only file; the node leases (1.5 s here) expire
during the outage but are renewed, not reaped, so nobody is announced gone.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cluster_support import (
    Member,
    NodeProcess,
    node_env,
    ready_status,
    start_members,
    start_nodes,
    stop_nodes,
)
from cluster_support import wait_for as wait_until

from storage import EmbeddedRedis

from support import Servers, make_pitch, make_user

CEILING = 60


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def nodes(servers: Servers, own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[list]:
    env = node_env(servers.database_url, own_redis.url, f"restart-{secrets.token_hex(3)}:")
    started = [NodeProcess(f"r-node-{i}", env, tmp_path) for i in range(3)]
    try:
        start_nodes(started)
        yield started
    finally:
        stop_nodes(started)


async def test_redis_restart_loses_no_acknowledged_chat(
    nodes: list[NodeProcess], own_redis: EmbeddedRedis, storage
) -> None:
    owner = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, owner)}"
    users = [await make_user(storage) for _ in range(6)]
    members = [Member(f"m{i}", u, room, nodes, i % 3) for i, u in enumerate(users)]
    publishers = members[:3]
    stop = trio.Event()
    with trio.fail_after(CEILING):
        async with trio.open_nursery() as nursery:
            await start_members(nursery, members)

            async with trio.open_nursery() as traffic:
                for member in publishers:
                    traffic.start_soon(member.chat_until, stop, 0.1)
                await wait_until(lambda: all(len(m.acked) >= 5 for m in publishers), 10, "acks")

                await trio.to_thread.run_sync(own_redis.stop)
                down = await _poll_ready(nodes, lambda codes: all(c == 503 for c in codes), 5)
                await wait_until(
                    lambda: all(m.unavailable >= 1 for m in publishers), 5, "chats refused"
                )
                acked_while_down = {m.name: len(m.acked) for m in publishers}
                await trio.sleep(0.5)  # Redis stays away a little longer
                assert {m.name: len(m.acked) for m in publishers} == acked_while_down

                await trio.to_thread.run_sync(own_redis.start)
                back = time.monotonic()
                ready_after = await _poll_ready(
                    nodes, lambda codes: all(c == 200 for c in codes), 5
                )
                counts = {m.name: len(m.acked) for m in publishers}
                await wait_until(
                    lambda: all(len(m.acked) > counts[m.name] for m in publishers),
                    5 - (time.monotonic() - back),
                    "chats acknowledged again",
                )
                service_after = time.monotonic() - back
                await wait_until(
                    lambda: all(len(m.acked) >= counts[m.name] + 5 for m in publishers), 10, "more"
                )
                stop.set()
            acked = {cid: seq for m in publishers for cid, seq in m.acked.items()}
            last = max(acked.values())
            await wait_until(lambda: all(m.last_seq >= last for m in members), 10, "delivery")
            nursery.cancel_scope.cancel()
    assert down is not None and ready_after < 5 and service_after < 5
    for member in members:
        chats = member.chats()
        assert [cid for cid, seq in acked.items() if chats.get(cid) != seq] == [], member.name
        assert member.errors == [], (member.name, member.errors[:5])
        assert member.left() == []  # the leases outlived the outage: no presence churn
        seqs = member.seqs()
        assert seqs == list(range(member.first_seq + 1, member.first_seq + 1 + len(seqs)))
    print(
        f"\nafter Redis returned: all nodes ready in {ready_after:.2f}s, "
        f"chats acknowledged on every node in {service_after:.2f}s"
    )


async def _poll_ready(nodes: list[NodeProcess], wanted, within: float) -> float:
    """Seconds until the nodes' /ready status codes satisfy ``wanted``."""
    started = time.monotonic()
    with trio.move_on_after(within):
        while True:
            codes = [await ready_status(node) for node in nodes]
            if wanted(codes):
                return time.monotonic() - started
            await trio.sleep(0.05)
    raise AssertionError(f"/ready never turned as expected within {within}s: {codes}")
