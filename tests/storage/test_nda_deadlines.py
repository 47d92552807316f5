"""NDA deadlines from stored timestamps; each timer fires once; shard leases are exclusive."""

from __future__ import annotations

from datetime import timedelta

import trio

from storage import (
    LeaseLost,
    NdaResult,
    NdaTimer,
    fire_nda_timer,
    load_nda_schedule,
    load_open_nda_schedules,
    open_shard_lease,
    open_storage,
)

from support import Servers, insert_nda, make_pitch, make_user

NAMESPACE = 0x54455354  # a lock class of this test module's own


async def _nda(storage, status: str = "pending", **ago: str) -> tuple[int, int, int]:
    """An NDA in ``status``; keyword columns are set to ``now() + <interval>``."""
    owner, requester = await make_user(storage, "creator"), await make_user(storage)
    pitch_id = await make_pitch(storage, owner, require_nda=True)
    nda_id = await insert_nda(storage, owner, requester, pitch_id, status=status, **ago)
    return nda_id, owner.id, requester.id


async def _count(storage, sql: str, *args) -> int:
    return await storage.connection(lambda conn: conn.fetchval(sql, *args))


async def test_a_pending_request_is_reminded_three_days_after_it_was_made(storage) -> None:
    nda_id, _, _ = await _nda(storage, requested_at="-2 days")
    schedule = await load_nda_schedule(storage, nda_id)
    assert schedule is not None and schedule.open
    when, timer = schedule.next_timer()
    assert timer is NdaTimer.REMIND_OWNER
    assert when == schedule.requested_at + timedelta(days=3)


async def test_an_approved_nda_is_reminded_to_its_requester_after_seven_days(storage) -> None:
    nda_id, _, _ = await _nda(storage, "approved", responded_at="-1 day")
    schedule = await load_nda_schedule(storage, nda_id)
    assert schedule is not None
    assert schedule.next_timer() == (
        schedule.responded_at + timedelta(days=7),
        NdaTimer.REMIND_REQUESTER,
    )


async def test_a_closed_nda_has_no_timers(storage) -> None:
    nda_id, _, _ = await _nda(storage, "revoked")
    schedule = await load_nda_schedule(storage, nda_id)
    assert schedule is not None and schedule.next_timer() is None
    assert await load_nda_schedule(storage, 10**12) is None


async def test_expiry_before_its_deadline_changes_nothing(storage) -> None:
    nda_id, _, _ = await _nda(storage, expires_at="1 hour")
    schedule = await load_nda_schedule(storage, nda_id)
    change = await fire_nda_timer(storage, nda_id, NdaTimer.EXPIRE, schedule.observed_at)
    assert change.result is NdaResult.ILLEGAL
    assert change.nda.status == "pending"


async def test_expiry_fires_once_with_audit_row_and_notification(storage) -> None:
    nda_id, _, requester = await _nda(storage, expires_at="1 second")
    schedule = await load_nda_schedule(storage, nda_id)
    at = schedule.observed_at + timedelta(seconds=2)
    first = await fire_nda_timer(storage, nda_id, NdaTimer.EXPIRE, at)
    second = await fire_nda_timer(storage, nda_id, NdaTimer.EXPIRE, at)
    assert first.result is NdaResult.APPLIED and second.result is NdaResult.ILLEGAL
    assert [n.status for n in first.expired] == ["expired"]
    assert [(n.kind, n.user_id) for n in first.notifications] == [("nda_expired", requester)]
    audit = "SELECT count(*) FROM audit_log WHERE entity_id = $1 AND action = 'nda.expired'"
    assert await _count(storage, audit, nda_id) == 1


async def test_concurrent_expiries_of_one_nda_apply_once(storage) -> None:
    nda_id, _, _ = await _nda(storage, expires_at="-1 second")
    schedule = await load_nda_schedule(storage, nda_id)
    results = []

    async def fire() -> None:
        change = await fire_nda_timer(storage, nda_id, NdaTimer.EXPIRE, schedule.observed_at)
        results.append(change.result)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(fire)
    assert sorted(r.value for r in results) == ["applied", "illegal", "illegal", "illegal"]


async def test_owner_reminder_fires_once_and_is_remembered(storage) -> None:
    nda_id, owner, _ = await _nda(storage, requested_at="-3 days -1 minute")
    schedule = await load_nda_schedule(storage, nda_id)
    first = await fire_nda_timer(storage, nda_id, NdaTimer.REMIND_OWNER, schedule.observed_at)
    again = await fire_nda_timer(storage, nda_id, NdaTimer.REMIND_OWNER, schedule.observed_at)
    assert first.result is NdaResult.APPLIED and again.result is NdaResult.ILLEGAL
    assert [(n.kind, n.user_id) for n in first.notifications] == [("nda_reminder", owner)]
    after = await load_nda_schedule(storage, nda_id)
    assert after.reminded == {"owner_pending"}
    assert after.next_timer()[1] is NdaTimer.EXPIRE


async def test_requester_reminder_waits_for_seven_days(storage) -> None:
    nda_id, _, requester = await _nda(storage, "approved", responded_at="-6 days")
    schedule = await load_nda_schedule(storage, nda_id)
    early = await fire_nda_timer(storage, nda_id, NdaTimer.REMIND_REQUESTER, schedule.observed_at)
    later = schedule.observed_at + timedelta(days=1, seconds=1)
    due = await fire_nda_timer(storage, nda_id, NdaTimer.REMIND_REQUESTER, later)
    assert early.result is NdaResult.ILLEGAL and due.result is NdaResult.APPLIED
    assert [(n.kind, n.user_id) for n in due.notifications] == [("nda_reminder", requester)]


async def test_open_schedules_are_loaded_per_shard(storage) -> None:
    open_id, _, _ = await _nda(storage)
    closed_id, _, _ = await _nda(storage, "rejected")
    shard = open_id % 16
    found = {s.nda_id for s in await load_open_nda_schedules(storage, [shard])}
    assert open_id in found and closed_id not in found
    assert all(nda_id % 16 == shard for nda_id in found)
    assert await load_open_nda_schedules(storage, []) == []


async def test_a_shard_lease_is_held_by_one_holder_until_released(
    storage, servers: Servers
) -> None:
    with trio.fail_after(15):
        async with open_storage(
            servers.database_url, servers.redis_url, pool_size=2, key_prefix=servers.key_prefix
        ) as other:
            async with open_shard_lease(storage, NAMESPACE) as first:
                assert await first.acquire(range(4)) == {0, 1, 2, 3}
                async with open_shard_lease(other, NAMESPACE) as second:
                    assert await second.acquire(range(6)) == {4, 5}
                    assert await first.acquire(range(6)) == set()
                    assert first.held == {0, 1, 2, 3}
            async with open_shard_lease(other, NAMESPACE) as third:
                assert await third.acquire(range(6)) == set(range(6))


async def test_a_lease_whose_connection_dies_loses_every_shard(storage) -> None:
    with trio.fail_after(15):
        async with open_shard_lease(storage, NAMESPACE) as lease:
            await lease.acquire([7])
            pid = await storage.connection(
                lambda conn: conn.fetchval(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
                    "AND objid = 7",
                    NAMESPACE,
                )
            )
            await storage.connection(
                lambda conn: conn.execute("SELECT pg_terminate_backend($1)", pid)
            )
            try:
                await lease.acquire([7])
            except LeaseLost:
                pass
            else:
                raise AssertionError("a dead lease connection went unnoticed")
            assert lease.held == frozenset()
            assert await lease.acquire([7]) == {7}
