"""NDAs: one table, one state machine.

    pending ──approve──▶ approved ──sign──▶ signed
       │                    │                 │
       ├──reject──▶ rejected │                 │
       └─(deadline)─▶ expired ◀─(deadline)─────┤  (approved and signed lapse too)
                    revoked ◀──revoke── approved | signed

``expires_at`` is always the deadline of the *current* state: a request lapses after 30
days, an approved NDA left unsigned after 30 more, a signed one at the end of its term
(``valid_until`` set on approval, else one year). Expiry is enforced whenever NDAs are
read or changed here, in the same transaction, and by the NDA workflow actor.

Every transition, expiry included, writes an ``audit_log`` row and a notification for the
other party in its transaction; the caller publishes the domain events after commit.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ._notifications import NotificationRecord, insert_notification
from ._service import Storage

REQUEST_TTL = timedelta(days=30)
SIGNED_TTL = timedelta(days=365)
REJECTION_COOLDOWN = timedelta(days=7)
DOCUMENT_VERSION = "pitchey-nda-2024.1"
OPEN_STATES = ("pending", "approved", "signed")

_COLUMNS = """
    n.id, n.pitch_id, p.title AS pitch_title, n.requester_id, r.username AS requester_username,
    r.user_type AS requester_type, n.owner_id, n.status, n.message, n.company_info, n.reason,
    n.terms, n.document_version, n.signer_name, n.requested_at, n.responded_at, n.signed_at,
    n.expires_at, n.valid_until, n.revoked_at, n.updated_at
"""
_FROM = "ndas n JOIN pitches p ON p.id = n.pitch_id JOIN users r ON r.id = n.requester_id"


class NdaAction(enum.Enum):
    """A transition: (states it may start from, resulting state, who may take it)."""

    APPROVE = (("pending",), "approved", "owner")
    REJECT = (("pending",), "rejected", "owner")
    SIGN = (("approved",), "signed", "requester")
    REVOKE = (("approved", "signed"), "revoked", "owner")


class NdaResult(enum.Enum):
    APPLIED = "applied"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    ILLEGAL = "illegal"  # not allowed from the current state (the record says which)
    NOT_REQUIRED = "not_required"  # the pitch does not require an NDA
    ACTIVE = "active"  # an open NDA for this pitch and requester exists
    COOLDOWN = "cooldown"  # rejected less than REJECTION_COOLDOWN ago


@dataclass(frozen=True, slots=True)
class NdaRecord:
    id: int
    pitch_id: int
    pitch_title: str
    requester_id: int
    requester_username: str
    requester_type: str
    owner_id: int
    status: str
    message: str | None
    company_info: dict[str, Any] | None
    reason: str | None
    terms: str | None
    document_version: str | None
    signer_name: str | None
    requested_at: datetime
    responded_at: datetime | None
    signed_at: datetime | None
    expires_at: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    updated_at: datetime

    def event_data(self) -> dict[str, Any]:
        """The ``nda_changed`` domain event's data."""
        return {
            "ndaId": self.id,
            "pitchId": self.pitch_id,
            "requesterId": self.requester_id,
            "ownerId": self.owner_id,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class NdaChange:
    result: NdaResult
    nda: NdaRecord | None = None
    notifications: list[NotificationRecord] = field(default_factory=list)
    expired: list[NdaRecord] = field(default_factory=list)  # lapsed on the way
    available_at: datetime | None = None  # when COOLDOWN ends


@dataclass(frozen=True, slots=True)
class NdaPage:
    items: list[NdaRecord]
    total: int
    expired: list[NdaRecord]
    notifications: list[NotificationRecord]


def _from_row(row: asyncpg.Record) -> NdaRecord:
    values = dict(row)
    info = values["company_info"]
    values["company_info"] = json.loads(info) if info is not None else None
    return NdaRecord(**values)


async def _fetch(conn: asyncpg.Connection, nda_id: int) -> NdaRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE n.id = $1", nda_id)
    return _from_row(row) if row else None


async def _audit(
    conn: asyncpg.Connection, actor_id: int | None, nda: NdaRecord, ip: str | None = None
) -> None:
    await conn.execute(
        """
        INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details, ip)
        VALUES ($1, $2, 'nda', $3, $4::jsonb, $5)
        """,
        actor_id,
        f"nda.{nda.status}",
        nda.id,
        json.dumps({"pitchId": nda.pitch_id, "status": nda.status}),
        ip,
    )


_NOTICES = {
    "pending": ("nda_requested", "New NDA request", "{who} requested an NDA for “{title}”."),
    "approved": ("nda_approved", "NDA approved", "Your NDA request for “{title}” was approved."),
    "rejected": ("nda_rejected", "NDA declined", "Your NDA request for “{title}” was declined."),
    "signed": ("nda_signed", "NDA signed", "{who} signed the NDA for “{title}”."),
    "revoked": ("nda_revoked", "NDA revoked", "Your NDA for “{title}” was revoked."),
    "expired": ("nda_expired", "NDA expired", "The NDA for “{title}” has expired."),
}


async def _notify(conn: asyncpg.Connection, nda: NdaRecord) -> NotificationRecord:
    """Notify the party who did not act: the owner of requests and signatures, the
    requester of everything else."""
    kind, title, body = _NOTICES[nda.status]
    to_owner = nda.status in ("pending", "signed")
    return await insert_notification(
        conn,
        nda.owner_id if to_owner else nda.requester_id,
        kind,
        title,
        body.format(who=nda.requester_username, title=nda.pitch_title),
        {"ndaId": nda.id, "pitchId": nda.pitch_id, "status": nda.status},
    )


async def _expire_due(
    conn: asyncpg.Connection, condition: str, *args: Any, at: datetime | None = None
) -> tuple[list[NdaRecord], list[NotificationRecord]]:
    """Move open NDAs matching ``condition`` whose deadline passed (by ``at``, default the
    database's ``now()``; the workflow actor passes its timer's moment) to ``expired``."""
    deadline = "now()" if at is None else f"${len(args) + 1}::timestamptz"
    ids = await conn.fetch(
        f"""
        UPDATE ndas n SET status = 'expired'
         WHERE n.status IN ('pending', 'approved', 'signed') AND n.expires_at <= {deadline}
           AND {condition}
        RETURNING n.id
        """,
        *args,
        *(() if at is None else (at,)),
    )
    expired, notices = [], []
    for row in ids:
        nda = await _fetch(conn, row["id"])
        assert nda is not None
        await _audit(conn, None, nda)
        notices.append(await _notify(conn, nda))
        expired.append(nda)
    return expired, notices


async def request_nda(
    storage: Storage,
    pitch_id: int,
    requester_id: int,
    *,
    message: str | None,
    company_info: dict[str, Any] | None,
    ip: str | None = None,
) -> NdaChange:
    """Open a request for a published pitch that requires an NDA (one open request per
    requester and pitch; a new one only ``REJECTION_COOLDOWN`` after a rejection)."""

    async def request(conn: asyncpg.Connection) -> NdaChange:
        pitch = await conn.fetchrow(
            "SELECT owner_id, status, require_nda FROM pitches WHERE id = $1 FOR UPDATE",
            pitch_id,
        )
        if pitch is None or pitch["status"] != "published" or pitch["owner_id"] == requester_id:
            return NdaChange(NdaResult.NOT_FOUND)
        if not pitch["require_nda"]:
            return NdaChange(NdaResult.NOT_REQUIRED)
        expired, notices = await _expire_due(
            conn, "n.pitch_id = $1 AND n.requester_id = $2", pitch_id, requester_id
        )
        active = await conn.fetchval(
            "SELECT id FROM ndas WHERE pitch_id = $1 AND requester_id = $2 "
            "AND status IN ('pending', 'approved', 'signed')",
            pitch_id,
            requester_id,
        )
        if active is not None:
            return NdaChange(NdaResult.ACTIVE, await _fetch(conn, active), notices, expired)
        rejected_at = await conn.fetchval(
            "SELECT max(responded_at) FROM ndas WHERE pitch_id = $1 AND requester_id = $2 "
            "AND status = 'rejected'",
            pitch_id,
            requester_id,
        )
        now = await conn.fetchval("SELECT now()")
        if rejected_at is not None and rejected_at + REJECTION_COOLDOWN > now:
            return NdaChange(
                NdaResult.COOLDOWN, None, notices, expired, rejected_at + REJECTION_COOLDOWN
            )
        nda_id = await conn.fetchval(
            """
            INSERT INTO ndas (pitch_id, requester_id, owner_id, message, company_info,
                              expires_at)
            VALUES ($1, $2, $3, $4, $5::jsonb, now() + $6::interval) RETURNING id
            """,
            pitch_id,
            requester_id,
            pitch["owner_id"],
            message,
            json.dumps(company_info) if company_info is not None else None,
            REQUEST_TTL,
        )
        await conn.execute("UPDATE pitches SET nda_count = nda_count + 1 WHERE id = $1", pitch_id)
        nda = await _fetch(conn, nda_id)
        assert nda is not None
        await _audit(conn, requester_id, nda, ip)
        notices.append(await _notify(conn, nda))
        return NdaChange(NdaResult.APPLIED, nda, notices, expired)

    return await storage.transaction(request)


async def transition_nda(
    storage: Storage,
    nda_id: int,
    actor_id: int,
    action: NdaAction,
    *,
    terms: str | None = None,
    valid_until: datetime | None = None,
    reason: str | None = None,
    signer_name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> NdaChange:
    """Take ``action`` on an NDA as ``actor_id`` (see :class:`NdaAction` for who and when)."""
    allowed_from, target, role = action.value

    async def apply(conn: asyncpg.Connection) -> NdaChange:
        locked = await conn.fetchrow(
            "SELECT owner_id, requester_id FROM ndas WHERE id = $1 FOR UPDATE", nda_id
        )
        if locked is None or actor_id not in (locked["owner_id"], locked["requester_id"]):
            return NdaChange(NdaResult.NOT_FOUND)
        expired, notices = await _expire_due(conn, "n.id = $1", nda_id)
        current = await _fetch(conn, nda_id)
        assert current is not None
        if locked[f"{role}_id"] != actor_id:
            return NdaChange(NdaResult.FORBIDDEN, current, notices, expired)
        if current.status not in allowed_from:
            return NdaChange(NdaResult.ILLEGAL, current, notices, expired)
        if action is NdaAction.APPROVE:
            await conn.execute(
                """
                UPDATE ndas SET status = 'approved', responded_at = now(), terms = $2,
                                valid_until = $3, expires_at = now() + $4::interval
                 WHERE id = $1
                """,
                nda_id,
                terms,
                valid_until,
                REQUEST_TTL,
            )
        elif action is NdaAction.REJECT:
            await conn.execute(
                "UPDATE ndas SET status = 'rejected', responded_at = now(), reason = $2, "
                "expires_at = NULL WHERE id = $1",
                nda_id,
                reason,
            )
        elif action is NdaAction.SIGN:
            await conn.execute(
                """
                UPDATE ndas SET status = 'signed', signed_at = now(), signer_name = $2,
                                signer_ip = $3, signer_user_agent = $4, document_version = $5,
                                expires_at = coalesce(valid_until, now() + $6::interval)
                 WHERE id = $1
                """,
                nda_id,
                signer_name,
                ip,
                (user_agent or "")[:500] or None,
                DOCUMENT_VERSION,
                SIGNED_TTL,
            )
        else:
            await conn.execute(
                "UPDATE ndas SET status = $2, revoked_at = now(), expires_at = NULL WHERE id = $1",
                nda_id,
                target,
            )
        nda = await _fetch(conn, nda_id)
        assert nda is not None
        await _audit(conn, actor_id, nda, ip)
        notices.append(await _notify(conn, nda))
        return NdaChange(NdaResult.APPLIED, nda, notices, expired)

    return await storage.transaction(apply)


async def get_nda(storage: Storage, nda_id: int, viewer_id: int) -> NdaChange:
    """One NDA if the viewer is a party to it (its expiry enforced first)."""

    async def read(conn: asyncpg.Connection) -> NdaChange:
        expired, notices = await _expire_due(
            conn, "n.id = $1 AND $2 IN (n.owner_id, n.requester_id)", nda_id, viewer_id
        )
        nda = await _fetch(conn, nda_id)
        if nda is None or viewer_id not in (nda.owner_id, nda.requester_id):
            return NdaChange(NdaResult.NOT_FOUND, None, notices, expired)
        return NdaChange(NdaResult.APPLIED, nda, notices, expired)

    return await storage.transaction(read)


async def get_pitch_nda(storage: Storage, pitch_id: int, requester_id: int) -> NdaChange:
    """The requester's most recent NDA for a pitch, if any (expiry enforced first)."""

    async def read(conn: asyncpg.Connection) -> NdaChange:
        expired, notices = await _expire_due(
            conn, "n.pitch_id = $1 AND n.requester_id = $2", pitch_id, requester_id
        )
        row = await conn.fetchrow(
            f"""
            SELECT {_COLUMNS} FROM {_FROM} WHERE n.pitch_id = $1 AND n.requester_id = $2
             ORDER BY n.requested_at DESC, n.id DESC LIMIT 1
            """,
            pitch_id,
            requester_id,
        )
        nda = _from_row(row) if row else None
        return NdaChange(NdaResult.APPLIED if nda else NdaResult.NOT_FOUND, nda, notices, expired)

    return await storage.transaction(read)


async def list_ndas(
    storage: Storage,
    user_id: int,
    *,
    direction: str,
    status: str | None,
    page: int,
    limit: int,
) -> NdaPage:
    """NDAs the user received (``incoming``: as pitch owner) or sent (``outgoing``)."""
    column = {"incoming": "owner_id", "outgoing": "requester_id"}[direction]

    async def read(conn: asyncpg.Connection) -> NdaPage:
        expired, notices = await _expire_due(conn, f"n.{column} = $1", user_id)
        where = f"n.{column} = $1 AND ($2::text IS NULL OR n.status = $2)"
        total = await conn.fetchval(f"SELECT count(*) FROM ndas n WHERE {where}", user_id, status)
        rows = await conn.fetch(
            f"""
            SELECT {_COLUMNS} FROM {_FROM} WHERE {where}
             ORDER BY n.updated_at DESC, n.id DESC LIMIT $3 OFFSET $4
            """,
            user_id,
            status,
            limit,
            (page - 1) * limit,
        )
        return NdaPage([_from_row(r) for r in rows], total, expired, notices)

    return await storage.transaction(read)
