"""The deadlines of open NDAs, and firing them exactly once.

Every timer of an open NDA is derived from stored timestamps, never from memory, so a
restarted actor (or another node taking over) recomputes the same deadlines:

- ``EXPIRE`` at ``ndas.expires_at`` (the current state's deadline: a request after 30
  days, an approved NDA left unsigned, a signed one at the end of its term);
- ``REMIND_OWNER`` at ``requested_at`` + 3 days while the request is pending;
- ``REMIND_REQUESTER`` at ``responded_at`` + 7 days while the approved NDA is unsigned.

:func:`fire_nda_timer` runs one timer in one transaction and is idempotent: an expiry
applies only to an NDA still open and due (the same code as expiry on read,
``_ndas._expire_due``), and a reminder only if its ``nda_reminders`` row (primary key
``(nda_id, kind)``) could be inserted. So two nodes firing the same timer, or one node
firing it twice across a restart, produce one transition, one audit row and one
notification. ``at`` is the moment the caller's timer fired, on the database's clock.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ._ndas import OPEN_STATES, NdaChange, NdaResult, _expire_due, _fetch
from ._notifications import insert_notification
from ._service import Storage

REMIND_OWNER_AFTER = timedelta(days=3)
REMIND_REQUESTER_AFTER = timedelta(days=7)
NDA_SHARDS = 16  # NDAs are driven per shard: ``id % NDA_SHARDS``


class NdaTimer(enum.Enum):
    EXPIRE = "expire"
    REMIND_OWNER = "owner_pending"
    REMIND_REQUESTER = "requester_unsigned"


@dataclass(frozen=True, slots=True)
class NdaSchedule:
    """What an NDA's timers are computed from, read at ``observed_at`` (database time)."""

    nda_id: int
    status: str
    requested_at: datetime
    responded_at: datetime | None
    expires_at: datetime | None
    reminded: frozenset[str]
    updated_at: datetime
    observed_at: datetime

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATES

    def timers(self) -> list[tuple[datetime, NdaTimer]]:
        """Every timer still to fire, earliest first (an expiry wins a tie)."""
        if not self.open:
            return []
        found: list[tuple[datetime, NdaTimer]] = []
        if self.expires_at is not None:
            found.append((self.expires_at, NdaTimer.EXPIRE))
        if self.status == "pending" and NdaTimer.REMIND_OWNER.value not in self.reminded:
            found.append((self.requested_at + REMIND_OWNER_AFTER, NdaTimer.REMIND_OWNER))
        if (
            self.status == "approved"
            and self.responded_at is not None
            and NdaTimer.REMIND_REQUESTER.value not in self.reminded
        ):
            found.append((self.responded_at + REMIND_REQUESTER_AFTER, NdaTimer.REMIND_REQUESTER))
        order = list(NdaTimer)
        return sorted(found, key=lambda t: (t[0], order.index(t[1])))

    def next_timer(self) -> tuple[datetime, NdaTimer] | None:
        timers = self.timers()
        return timers[0] if timers else None


_SCHEDULE = """
    SELECT n.id AS nda_id, n.status, n.requested_at, n.responded_at, n.expires_at,
           n.updated_at, now() AS observed_at,
           coalesce((SELECT array_agg(r.kind) FROM nda_reminders r WHERE r.nda_id = n.id),
                    '{}') AS reminded
      FROM ndas n
"""


def _schedule(row: asyncpg.Record) -> NdaSchedule:
    values = dict(row)
    values["reminded"] = frozenset(values["reminded"])
    return NdaSchedule(**values)


async def load_nda_schedule(storage: Storage, nda_id: int) -> NdaSchedule | None:
    """One NDA's schedule (whatever its state), or None if there is no such NDA."""
    row = await storage.connection(lambda c: c.fetchrow(f"{_SCHEDULE} WHERE n.id = $1", nda_id))
    return _schedule(row) if row else None


async def load_open_nda_schedules(
    storage: Storage, shards: Iterable[int], *, shard_count: int = NDA_SHARDS
) -> list[NdaSchedule]:
    """The schedules of every open NDA in ``shards``, in one query."""
    wanted = sorted(set(shards))
    if not wanted:
        return []
    rows = await storage.connection(
        lambda c: c.fetch(
            f"""{_SCHEDULE}
             WHERE n.status IN ('pending', 'approved', 'signed')
               AND (n.id % $1)::int = ANY($2::int[])
             ORDER BY n.id
            """,
            shard_count,
            wanted,
        )
    )
    return [_schedule(r) for r in rows]


_REMINDERS = {
    NdaTimer.REMIND_OWNER: (
        "pending",
        "requested_at",
        REMIND_OWNER_AFTER,
        "owner_id",
        "NDA request waiting",
        "{who} has been waiting 3 days for your answer on the NDA for “{title}”.",
    ),
    NdaTimer.REMIND_REQUESTER: (
        "approved",
        "responded_at",
        REMIND_REQUESTER_AFTER,
        "requester_id",
        "NDA awaiting your signature",
        "The NDA for “{title}” was approved a week ago and is not signed yet.",
    ),
}


async def fire_nda_timer(storage: Storage, nda_id: int, timer: NdaTimer, at: datetime) -> NdaChange:
    """Fire one timer as of ``at``, in one transaction (state or reminder row, audit row,
    notification). ``APPLIED`` if it fired now (``expired`` holds the NDA when it expired);
    ``ILLEGAL`` if it is not due, no longer applies or already fired; ``NOT_FOUND``."""

    async def fire(conn: asyncpg.Connection) -> NdaChange:
        if timer is NdaTimer.EXPIRE:
            expired, notices = await _expire_due(conn, "n.id = $1", nda_id, at=at)
            nda = await _fetch(conn, nda_id)
            if nda is None:
                return NdaChange(NdaResult.NOT_FOUND)
            result = NdaResult.APPLIED if expired else NdaResult.ILLEGAL
            return NdaChange(result, nda, notices, expired)
        return await _remind(conn, nda_id, timer, at)

    return await storage.transaction(fire)


async def _remind(
    conn: asyncpg.Connection, nda_id: int, timer: NdaTimer, at: datetime
) -> NdaChange:
    status, since, after, recipient, title, body = _REMINDERS[timer]
    inserted = await conn.fetchval(
        f"""
        INSERT INTO nda_reminders (nda_id, kind)
        SELECT id, $2 FROM ndas
         WHERE id = $1 AND status = $3 AND {since} + $4::interval <= $5
        ON CONFLICT DO NOTHING RETURNING nda_id
        """,
        nda_id,
        timer.value,
        status,
        after,
        at,
    )
    nda = await _fetch(conn, nda_id)
    if nda is None:
        return NdaChange(NdaResult.NOT_FOUND)
    if inserted is None:
        return NdaChange(NdaResult.ILLEGAL, nda)
    await conn.execute(
        """
        INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details)
        VALUES (NULL, 'nda.reminder', 'nda', $1, $2::jsonb)
        """,
        nda_id,
        json.dumps({"pitchId": nda.pitch_id, "status": nda.status, "reminder": timer.value}),
    )
    notice = await insert_notification(
        conn,
        getattr(nda, recipient),
        "nda_reminder",
        title,
        body.format(who=nda.requester_username, title=nda.pitch_title),
        {"ndaId": nda.id, "pitchId": nda.pitch_id, "status": nda.status, "reminder": timer.value},
    )
    return NdaChange(NdaResult.APPLIED, nda, [notice])
