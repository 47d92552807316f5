"""One NDA workflow actor: the timers of one open NDA.

The actor holds the NDA's :class:`storage.NdaSchedule` (read from PostgreSQL, never kept
anywhere else) and sleeps until its next timer: the expiry at ``expires_at``, or a reminder
(owner after 3 days pending, requester after 7 days approved and unsigned). When one is
due it fires it through ``storage.fire_nda_timer`` (one transaction: state or reminder row,
audit row, notification), publishes ``nda_changed`` and the notifications after the commit,
and reads its schedule again. It stops (normally: a transient child is not restarted) once
the NDA is no longer open.

Deadlines are stored as database timestamps and slept on with trio's clock: the schedule
says what the database's ``now()`` was when it was read, and the actor maps its timer onto
trio's clock from that moment (MockClock in tests), and back again when it fires, so the
timer fires as of the moment it was due. Firing is idempotent in PostgreSQL, so a second
attempt (a restart, another node) changes nothing.

Mailbox: ``Refresh`` messages only, capacity ``MAILBOX_CAPACITY``. A ``Refresh`` with a
schedule replaces the actor's (if it is at least as recent); without one the actor reads
the NDA again. When the mailbox is full the sender drops its refresh: the queued ones
already make the actor look again, and the workflow's periodic resync repairs the rest.

A storage failure is not a crash: the actor logs it and retries with backoff (a database
outage must not exhaust the supervisor's restart intensity). Anything else crashes the
actor and the supervisor restarts it, which reads the NDA from scratch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
import trio

from storage import (
    NdaChange,
    NdaResult,
    NdaSchedule,
    NdaTimer,
    Storage,
    StorageError,
    fire_nda_timer,
    load_nda_schedule,
    publish_domain_events,
)

from ._actor import ActorRef, Mailbox

if TYPE_CHECKING:
    from ._nda_workflow import NdaWorkflow

log = structlog.get_logger("realtime.nda")

MAILBOX_CAPACITY = 8
RETRY_FIRST = 1.0
RETRY_MAX = 30.0


@dataclass(frozen=True, slots=True)
class Refresh:
    """The NDA may have changed: here is its new schedule, or None to read it again."""

    schedule: NdaSchedule | None = None


async def run_nda_actor(
    workflow: NdaWorkflow,
    nda_id: int,
    schedule: NdaSchedule | None,
    *,
    task_status: trio.TaskStatus[ActorRef[Refresh]] = trio.TASK_STATUS_IGNORED,
    restarts: int = 0,
) -> None:
    """The actor's life as a supervised child (a restart reads its schedule afresh)."""
    with Mailbox[Refresh](f"nda:{nda_id}", capacity=MAILBOX_CAPACITY) as mailbox:
        workflow.actors.register(nda_id, mailbox.ref)
        try:
            task_status.started(mailbox.ref)
            actor = _NdaActor(workflow, nda_id, mailbox)
            with structlog.contextvars.bound_contextvars(nda=nda_id):
                await actor.run(schedule if restarts == 0 else None)
        finally:
            workflow.actors.unregister(nda_id, mailbox.ref)


class _NdaActor:
    def __init__(self, workflow: NdaWorkflow, nda_id: int, mailbox: Mailbox[Refresh]) -> None:
        self.workflow = workflow
        self.storage = workflow.storage
        self.nda_id = nda_id
        self.mailbox = mailbox
        self._retry = RETRY_FIRST

    async def run(self, schedule: NdaSchedule | None) -> None:
        while True:
            if schedule is None:
                schedule = await self._load()
            if schedule is None or not schedule.open:
                log.debug("nda_actor_done", status=schedule and schedule.status)
                return
            anchor = trio.current_time()
            upcoming = schedule.next_timer()
            deadline = math.inf if upcoming is None else anchor + _seconds(upcoming[0], schedule)
            with trio.move_on_at(deadline):
                message = await self.mailbox.receive()
                schedule = _newer(schedule, message.schedule)
                continue
            assert upcoming is not None
            at = schedule.observed_at + timedelta(seconds=trio.current_time() - anchor)
            await self._fire(upcoming[1], at)
            schedule = None

    async def _load(self) -> NdaSchedule | None:
        while True:
            try:
                found = await self.workflow.storage_call(
                    load_nda_schedule, self.storage, self.nda_id
                )
            except StorageError as exc:
                await self._back_off("nda_schedule_unreadable", exc)
                continue
            self._retry = RETRY_FIRST
            return found

    async def _fire(self, timer: NdaTimer, at: datetime) -> None:
        self.workflow.fired.append((self.nda_id, timer))
        try:
            change = await self.workflow.storage_call(
                fire_nda_timer, self.storage, self.nda_id, timer, at
            )
        except StorageError as exc:
            await self._back_off("nda_timer_failed", exc, timer=timer.value)
            return
        self._retry = RETRY_FIRST
        log.info("nda_timer_fired", timer=timer.value, applied=change.result is NdaResult.APPLIED)
        await self.workflow.storage_call(publish_change, self.storage, change)

    async def _back_off(self, event: str, exc: StorageError, **fields: str) -> None:
        log.warning(event, error=str(exc), retry_in=self._retry, **fields)
        await trio.sleep(self._retry)
        self._retry = min(RETRY_MAX, self._retry * 2)


async def publish_change(storage: Storage, change: NdaChange) -> None:
    """After the commit: ``nda_changed`` for NDAs that expired, then the notifications that
    are not muted. The change is durable already, so a failed publish is only logged."""
    events = [("nda_changed", nda.event_data()) for nda in change.expired]
    events += [("notification", n.event_data()) for n in change.notifications if not n.muted]
    try:
        await publish_domain_events(storage, events)
    except StorageError as exc:
        log.warning("domain_events_not_published", kinds=[k for k, _ in events], error=str(exc))


def _seconds(when: datetime, schedule: NdaSchedule) -> float:
    return max(0.0, (when - schedule.observed_at).total_seconds())


def _newer(current: NdaSchedule, offered: NdaSchedule | None) -> NdaSchedule | None:
    if offered is None:
        return None  # read it again
    return offered if offered.observed_at >= current.observed_at else current
