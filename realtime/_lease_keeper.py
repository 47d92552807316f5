"""The node's lease keeper: renews the node's lease, reaps dead nodes' leases.

Every ``ttl / 3`` it makes one storage call (``storage.lease_tick``): renew this node's
lease with a fresh record (connections, rooms) and reap every expired lease, which
announces ``member_left`` for the dead node's members who are not present through another
node. With the default 10 s lease a killed node's members are announced gone within
``ttl + ttl/3`` ≈ 13.3 s (plus one script call).

While Redis is unreachable the keeper retries every ``RETRY`` seconds, so the lease is
back within a second or so of Redis; an expired lease that no reaper has claimed yet is
simply renewed. After such an outage the keeper does not reap for one lease period: the
other nodes were probably cut off too and need a moment to renew theirs (reaping them at
once would announce all their members gone and back). If the lease was lost (claimed by a
reaper), the keeper takes a new lease and the hub has every room record its members under
it.

``clock`` (milliseconds) defaults to Redis's own clock; tests pass one driven by trio's
clock to run expiry on virtual time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
import trio

from storage import Storage, StorageError, lease_tick, new_lease_name, release_lease

from ._hub import Hub

log = structlog.get_logger("realtime.lease")

RETRY = 0.5  # seconds between attempts while Redis cannot be reached


class NodeLeaseKeeper:
    def __init__(
        self,
        storage: Storage,
        hub: Hub,
        *,
        ttl_ms: int,
        clock: Callable[[], int] | None = None,
        details: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.storage = storage
        self.hub = hub
        self.ttl_ms = ttl_ms
        self.clock = clock
        self.details = details or dict
        self.started_at = int(time.time() * 1000)
        self.healthy = False
        self.reaped: list[tuple[str, int]] = []  # (lease, events), for logs and tests
        self._first = True
        self._reap_from = 0.0  # trio time from which this keeper may reap

    @property
    def interval(self) -> float:
        return self.ttl_ms / 3000

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the lease until cancelled; started once it is first held."""
        started = False
        while True:
            ok = await self.tick()
            if ok and not started:
                started = True
                task_status.started()
            await trio.sleep(self.interval if ok else min(RETRY, self.interval))

    async def tick(self) -> bool:
        """One renewal and reap; False if Redis could not be reached."""
        lease = self.hub.lease
        try:
            held, reaped = await lease_tick(
                self.storage,
                lease,
                ttl_ms=self.ttl_ms,
                record=self._record(),
                first=self._first,
                reap=trio.current_time() >= self._reap_from,
                now_ms=self.clock() if self.clock else None,
            )
        except StorageError as exc:
            if self.healthy:
                log.warning("lease_renewal_failed", lease=lease, error=str(exc))
            if self.healthy or not self._first:
                self._reap_from = float("inf")  # set for real once Redis answers again
            self.healthy = False
            return False
        if self._reap_from == float("inf"):
            self._reap_from = trio.current_time() + self.ttl_ms / 1000
        self._first = False
        self.healthy = True
        for dead, events in reaped:
            log.info("lease_reaped", dead=dead, member_left=events)
        self.reaped.extend(reaped)
        if not held:
            fresh = new_lease_name(self.hub.node_id)
            log.warning("lease_lost", lease=lease, new_lease=fresh)
            self._first = True
            self.hub.lease_changed(fresh)
            return await self.tick()
        return True

    async def release(self) -> None:
        """Leave cleanly (drain): every room announces who left, the lease goes."""
        try:
            events = await release_lease(self.storage, self.hub.lease)
        except StorageError as exc:
            log.warning("lease_release_failed", error=str(exc))  # it expires on its own
            return
        log.info("lease_released", lease=self.hub.lease, member_left=events)

    def _record(self) -> dict[str, Any]:
        return {
            "node": self.hub.node_id,
            "connections": self.hub.connection_count,
            "rooms": len(self.hub.rooms),
            "startedAt": self.started_at,
            **self.details(),
        }
