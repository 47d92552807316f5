"""The node lease keeper on virtual time: renewal, expiry, reaping within 15 s."""

from __future__ import annotations

import secrets
import time

import pytest
import trio
import trio.testing

from realtime import Hub, Supervisor
from realtime._lease_keeper import NodeLeaseKeeper
from storage import Bus, Entering, change_presence, list_live_nodes, read_history, room_snapshot

DEFAULT_TTL_MS = 10_000  # the default of NODE_LEASE_TTL_MS


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    """Virtual time 20 times faster than real time: the keepers' seconds pass in tenths,
    while PostgreSQL and Redis answer in real time (their deadlines stay far away)."""
    return trio.testing.MockClock(rate=20)


def _keeper(storage, name: str, clock) -> NodeLeaseKeeper:
    hub = Hub(storage, Bus(storage), Supervisor("rooms"), name)
    return NodeLeaseKeeper(storage, hub, ttl_ms=DEFAULT_TTL_MS, clock=clock)


def _user(uid: int) -> Entering:
    return Entering(uid, {"id": uid, "username": f"u{uid}", "userType": "investor"})


async def test_a_killed_nodes_lone_members_are_announced_gone_within_15_s(
    storage, fast_clock
) -> None:
    # a key space of its own, inside the run's prefix (removed with it at the end)
    storage = storage.with_key_prefix(f"{storage.key_prefix}lease-test-{secrets.token_hex(4)}:")
    base = int(time.time() * 1000)

    def clock() -> int:
        return base + int(trio.current_time() * 1000)

    alpha, beta = _keeper(storage, "alpha", clock), _keeper(storage, "beta", clock)
    room = f"pitch:{secrets.randbelow(10**9) + 1}"
    async with trio.open_nursery() as nursery:
        alpha_scope = trio.CancelScope()

        async def run_alpha(*, task_status=trio.TASK_STATUS_IGNORED) -> None:
            with alpha_scope:
                await alpha.run(task_status=task_status)

        await nursery.start(run_alpha)
        await nursery.start(beta.run)
        await change_presence(storage, room, alpha.hub.lease, [_user(1), _user(2)], [])
        await change_presence(storage, room, beta.hub.lease, [_user(2)], [])
        await trio.sleep(30)  # renewals keep both alive well past one lease
        live = {n.node for n in await list_live_nodes(storage, now_ms=clock())}
        assert live == {"alpha", "beta"}
        assert beta.reaped == []

        alpha_scope.cancel()  # kill -9: no release, the lease just stops being renewed
        killed = trio.current_time()
        while not beta.reaped:  # noqa: ASYNC110 (the keeper has no event to wait on)
            await trio.sleep(0.5)
        gone_after = trio.current_time() - killed
        nursery.cancel_scope.cancel()

    assert beta.reaped == [(alpha.hub.lease, 1)]
    # not before the lease ran out (renewed at most one interval before the kill), and soon
    assert DEFAULT_TTL_MS / 1000 - alpha.interval <= gone_after <= 15
    _, events = await read_history(storage, room)
    assert [(e["type"], e.get("userId")) for e in events][-1] == ("member_left", 1)
    assert list((await room_snapshot(storage, room, count=1)).members) == [2]


async def test_a_lease_reaped_while_its_node_slept_is_replaced(storage) -> None:
    # a key space of its own, inside the run's prefix (removed with it at the end)
    storage = storage.with_key_prefix(f"{storage.key_prefix}lease-test-{secrets.token_hex(4)}:")
    base = int(time.time() * 1000)
    skew = 0

    def clock() -> int:
        return base + skew + int(trio.current_time() * 1000)

    sleeper, other = _keeper(storage, "sleeper", clock), _keeper(storage, "other", clock)
    first = sleeper.hub.lease
    assert await sleeper.tick()
    skew = DEFAULT_TTL_MS + 1  # the sleeper's process stopped for longer than its lease
    assert await other.tick()
    assert other.reaped == [(first, 0)]
    assert await sleeper.tick()
    assert sleeper.hub.lease != first and sleeper.hub.lease.startswith("sleeper/")
    live = {n.lease for n in await list_live_nodes(storage, now_ms=clock())}
    assert live == {sleeper.hub.lease, other.hub.lease}
