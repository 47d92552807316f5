"""The NDA workflow: one actor per open NDA, on exactly one node at a time.

NDAs are split into ``NDA_SHARDS`` shards (``id % NDA_SHARDS``). A node drives the NDAs of
the shards it holds a PostgreSQL advisory lock for (``storage.ShardLease``, one dedicated
connection). Every ``poll`` seconds it proves that connection alive and tries the shards
nobody holds, so when a node dies (its connection closes and PostgreSQL frees its locks)
another node takes its shards over within about ``poll`` seconds. A node that loses its
lease connection stops all its NDA actors at once: it no longer owns anything.

For a shard it gains, the node reads the schedules of all its open NDAs in one query and
starts their actors (recovery at start, after a takeover, after a lost connection). The
actors run under a one-for-one :class:`Supervisor` (transient: a crashed actor restarts and
reads its NDA again; one whose NDA closed stays stopped).

How the actors learn about transitions they did not make (HTTP requests, approvals,
signatures, revocations): from the ``nda_changed`` domain events the HTTP routes already
publish after each commit. The HTTP request may be served by any node while the shard's
owner may be another one, so the news has to cross nodes anyway, and the domain events are
the existing cross-node channel; the HTTP side needs no knowledge of actors. Redis pub/sub
is at-most-once, so every ``resync`` seconds the owner also re-reads its shards' open NDAs
(one query) and hands each actor its fresh schedule; a lost event delays a timer's
re-arming by at most that long, and expiry is still enforced whenever an NDA is read.

Firing a timer is idempotent in PostgreSQL (``storage.fire_nda_timer``), so the lock only
decides who drives: even during a takeover no timer fires twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
import trio

from storage import (
    NDA_SHARDS,
    DomainEvent,
    LeaseLost,
    NdaSchedule,
    NdaTimer,
    ShardLease,
    Storage,
    StorageError,
    load_open_nda_schedules,
    open_domain_events,
    open_shard_lease,
)

from ._actor import ActorRef, ActorStopped, MailboxFull
from ._nda_actor import Refresh, run_nda_actor
from ._registry import Registry
from ._supervisor import Restart, Supervisor

log = structlog.get_logger("realtime.nda")

T = TypeVar("T")

LEASE_NAMESPACE = 0x4E444131  # "NDA1": the advisory lock class of NDA shards
LEASE_POLL = 1.0
RESYNC_INTERVAL = 30.0
OPEN_STATES = frozenset({"pending", "approved", "signed"})
DB_CONCURRENCY = 4  # pool connections the workflow uses at once, all actors together


class NdaWorkflow:
    """This node's NDA workflow actors and the shards it drives (see the module docstring).

    ``fired`` lists every timer this node tried to fire, ``(nda_id, timer)``, in order (for
    metrics and tests: a timer tried on two nodes would show up in both lists).
    """

    def __init__(
        self,
        storage: Storage,
        *,
        shard_count: int = NDA_SHARDS,
        poll: float = LEASE_POLL,
        resync: float = RESYNC_INTERVAL,
    ) -> None:
        self.storage = storage
        self.shard_count = shard_count
        self.poll = poll
        self.resync = resync
        self.supervisor = Supervisor("ndas", max_restarts=100, within=10.0)
        self.actors: Registry[int, ActorRef[Refresh]] = Registry("ndas")
        self.fired: list[tuple[int, NdaTimer]] = []
        self._lease: ShardLease | None = None
        self._unrecovered: set[int] = set()  # held shards whose NDAs are not loaded yet
        self._db_slots = trio.CapacityLimiter(DB_CONCURRENCY)

    async def storage_call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        """Run one storage call for the workflow: at most ``DB_CONCURRENCY`` at once (a node
        starting with many due timers must not drain the pool), and shielded, so shutdown
        never cancels a transaction half-way (a started timer commits and is published; an
        asyncpg connect cancelled mid-way leaves asyncio errors behind). Each statement is
        bounded by the pool's ``command_timeout``."""
        async with self._db_slots:
            with trio.CancelScope(shield=True):
                result = await fn(*args, **kw)
        await trio.lowlevel.checkpoint()  # a cancellation held off by the shield lands here
        return result

    @property
    def owned(self) -> frozenset[int]:
        """The shards this node drives now."""
        return self._lease.held if self._lease is not None else frozenset()

    def owns(self, nda_id: int) -> bool:
        return nda_id % self.shard_count in self.owned

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drive NDAs until cancelled; ready once the first shards are recovered."""
        async with (
            open_domain_events(self.storage) as events,
            open_shard_lease(self.storage, LEASE_NAMESPACE) as lease,
            trio.open_nursery() as nursery,
        ):
            self._lease = lease
            try:
                await nursery.start(self.supervisor.run)
                await self._claim(lease)
                nursery.start_soon(self._follow, events)
                nursery.start_soon(self._keep, lease)
                log.info("nda_workflow_ready", shards=sorted(lease.held), actors=len(self.actors))
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._lease = None

    async def _keep(self, lease: ShardLease) -> None:
        next_resync = trio.current_time() + self.resync
        while True:
            await trio.sleep(self.poll)
            await self._claim(lease)
            if trio.current_time() >= next_resync:
                next_resync = trio.current_time() + self.resync
                self._unrecovered |= lease.held

    async def _claim(self, lease: ShardLease) -> None:
        """Keep the lease alive, take free shards, load the NDAs of shards not loaded."""
        try:
            gained = await self.storage_call(lease.acquire, range(self.shard_count))
        except LeaseLost as exc:
            log.warning("nda_shards_lost", error=str(exc), actors=len(self.actors))
            self._unrecovered.clear()
            running = self.supervisor.keys()  # restarting ones too, not only registered
            for key in running:
                self.supervisor.stop_child(key)
            return
        if gained:
            log.info("nda_shards_gained", shards=sorted(gained))
        self._unrecovered |= gained
        self._unrecovered &= lease.held
        if self._unrecovered:
            await self._recover(frozenset(self._unrecovered))

    async def _recover(self, shards: frozenset[int]) -> None:
        try:
            schedules = await self.storage_call(
                load_open_nda_schedules, self.storage, shards, shard_count=self.shard_count
            )
        except StorageError as exc:
            log.warning("nda_recovery_failed", error=str(exc), shards=sorted(shards))
            return
        found = set()
        for schedule in schedules:
            found.add(schedule.nda_id)
            await self._ensure(schedule.nda_id, schedule)
        for nda_id, ref in list(self.actors.items()):
            if nda_id % self.shard_count in shards and nda_id not in found:
                _tell(ref, Refresh())  # closed meanwhile, or opened after our read: look
        self._unrecovered -= shards

    async def _follow(self, events: trio.MemoryReceiveChannel[DomainEvent]) -> None:
        async for event in events:
            if event.kind != "nda_changed":
                continue
            try:
                nda_id, status = int(event.data["ndaId"]), str(event.data["status"])
            except (KeyError, TypeError, ValueError):
                log.warning("nda_event_malformed")
                continue
            if not self.owns(nda_id):
                continue
            if status in OPEN_STATES:
                await self._ensure(nda_id, None)
            else:
                self.supervisor.stop_child(nda_id)

    async def _ensure(self, nda_id: int, schedule: NdaSchedule | None) -> None:
        """Hand the running actor the news, or start one (no await before the claim)."""
        ref = self.actors.get(nda_id)
        if ref is not None:
            _tell(ref, Refresh(schedule))
        elif self.supervisor.has_child(nda_id):
            pass  # restarting: it reads the NDA afresh anyway
        elif schedule is None or schedule.open:
            try:
                await self.supervisor.start_child(
                    nda_id, run_nda_actor, self, nda_id, schedule, restart=Restart.TRANSIENT
                )
            except RuntimeError:
                log.debug("nda_actor_not_started", reason="supervisor stopping")


def _tell(ref: ActorRef[Refresh], message: Refresh) -> None:
    # Full: the queued refreshes make it look anyway. Stopped: its NDA closed.
    with contextlib.suppress(MailboxFull, ActorStopped):
        ref.tell(message)
