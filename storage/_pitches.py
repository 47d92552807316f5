"""Pitches: records, what a viewer may see of one, edits with optimistic versions, status
changes and collaborators. Listing and search live in ``_pitch_listing``.

Every write that needs a permission check reads the row ``FOR UPDATE`` with the caller's
access in the same transaction, so the decision and the write see the same row.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ._room_access import PITCH_WIRE_NAMES
from ._service import Storage

# Columns a pitch's editors may set (jsonb ones are passed as Python values).
EDITABLE_COLUMNS = frozenset(
    {
        "title",
        "logline",
        "genre",
        "format",
        "budget_range",
        "short_synopsis",
        "long_synopsis",
        "target_audience",
        "comparable_titles",
        "themes",
        "characters",
        "thumbnail_url",
        "visibility",
        "require_nda",
        "protected_content",
    }
)
_JSON_COLUMNS = frozenset({"characters", "protected_content"})

PITCH_COLUMNS = """
    p.id, p.owner_id, p.title, p.logline, p.genre, p.format, p.budget_range,
    p.short_synopsis, p.long_synopsis, p.target_audience, p.comparable_titles, p.themes,
    p.characters, p.thumbnail_url, p.visibility, p.status, p.require_nda,
    p.protected_content, p.view_count, p.like_count, p.save_count, p.nda_count, p.version,
    p.published_at, p.created_at, p.updated_at,
    o.username AS owner_username, o.first_name AS owner_first_name,
    o.last_name AS owner_last_name, o.company_name AS owner_company_name,
    o.user_type AS owner_user_type
"""
PITCH_FROM = "pitches p JOIN users o ON o.id = p.owner_id"


def access_columns(viewer: str) -> str:
    """SQL columns telling whether ``viewer`` (a SQL expression, may be NULL) owns,
    co-edits or holds a signed, unexpired NDA for pitch ``p``."""
    return f"""
        coalesce(p.owner_id = {viewer}, false) AS is_owner,
        EXISTS (SELECT 1 FROM pitch_collaborators c
                 WHERE c.pitch_id = p.id AND c.user_id = {viewer}) AS is_collaborator,
        EXISTS (SELECT 1 FROM ndas n
                 WHERE n.pitch_id = p.id AND n.requester_id = {viewer}
                   AND n.status = 'signed'
                   AND (n.expires_at IS NULL OR n.expires_at > now())) AS has_nda
    """


class Outcome(enum.Enum):
    APPLIED = "applied"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"  # stale version, or a status change not allowed from here


@dataclass(frozen=True, slots=True)
class Owner:
    id: int
    username: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    user_type: str


@dataclass(frozen=True, slots=True)
class PitchRecord:
    id: int
    owner: Owner
    title: str
    logline: str
    genre: str | None
    format: str | None
    budget_range: str | None
    short_synopsis: str | None
    long_synopsis: str | None
    target_audience: str | None
    comparable_titles: str | None
    themes: str | None
    characters: list[Any]
    thumbnail_url: str | None
    visibility: str
    status: str
    require_nda: bool
    protected_content: dict[str, Any]
    view_count: int
    like_count: int
    save_count: int
    nda_count: int
    version: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Access:
    is_owner: bool = False
    is_collaborator: bool = False
    has_nda: bool = False

    @property
    def can_edit(self) -> bool:
        return self.is_owner or self.is_collaborator

    @property
    def entitled(self) -> bool:
        """May see protected content and the creator of an NDA-protected pitch."""
        return self.is_owner or self.is_collaborator or self.has_nda


@dataclass(frozen=True, slots=True)
class PitchChange:
    outcome: Outcome
    pitch: PitchRecord | None = None
    access: Access = Access()
    previous_status: str | None = None


def pitch_from_row(row: asyncpg.Record) -> PitchRecord:
    owner = Owner(
        row["owner_id"],
        row["owner_username"],
        row["owner_first_name"],
        row["owner_last_name"],
        row["owner_company_name"],
        row["owner_user_type"],
    )
    return PitchRecord(
        id=row["id"],
        owner=owner,
        title=row["title"],
        logline=row["logline"],
        genre=row["genre"],
        format=row["format"],
        budget_range=row["budget_range"],
        short_synopsis=row["short_synopsis"],
        long_synopsis=row["long_synopsis"],
        target_audience=row["target_audience"],
        comparable_titles=row["comparable_titles"],
        themes=row["themes"],
        characters=json.loads(row["characters"]),
        thumbnail_url=row["thumbnail_url"],
        visibility=row["visibility"],
        status=row["status"],
        require_nda=row["require_nda"],
        protected_content=json.loads(row["protected_content"]),
        view_count=row["view_count"],
        like_count=row["like_count"],
        save_count=row["save_count"],
        nda_count=row["nda_count"],
        version=row["version"],
        published_at=row["published_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def access_from_row(row: asyncpg.Record) -> Access:
    return Access(bool(row["is_owner"]), bool(row["is_collaborator"]), bool(row["has_nda"]))


async def fetch_pitch(
    conn: asyncpg.Connection, pitch_id: int, viewer_id: int | None, *, lock: bool = False
) -> tuple[PitchRecord, Access] | None:
    """(asyncio side) A pitch and the viewer's access to it, optionally row-locked."""
    row = await conn.fetchrow(
        f"""
        SELECT {PITCH_COLUMNS}, {access_columns("$2::bigint")}
          FROM {PITCH_FROM} WHERE p.id = $1 {"FOR UPDATE OF p" if lock else ""}
        """,
        pitch_id,
        viewer_id,
    )
    return (pitch_from_row(row), access_from_row(row)) if row else None


async def create_pitch(storage: Storage, owner_id: int, fields: dict[str, Any]) -> PitchRecord:
    """Insert a draft owned by ``owner_id`` with the given editable columns."""
    _check_columns(fields)

    async def insert(conn: asyncpg.Connection) -> PitchRecord:
        names = sorted(fields)
        columns = ", ".join(["owner_id", *names])
        values = ", ".join(_placeholder(name, i) for i, name in enumerate(names, start=2))
        pitch_id = await conn.fetchval(
            f"INSERT INTO pitches ({columns}) VALUES ($1{', ' if names else ''}{values}) "
            "RETURNING id",
            owner_id,
            *(_encode(name, fields[name]) for name in names),
        )
        found = await fetch_pitch(conn, pitch_id, owner_id)
        assert found is not None
        return found[0]

    return await storage.transaction(insert)


async def get_pitch(
    storage: Storage, pitch_id: int, viewer_id: int | None
) -> tuple[PitchRecord, Access] | None:
    return await storage.connection(fetch_pitch, pitch_id, viewer_id)


async def update_pitch(
    storage: Storage,
    pitch_id: int,
    editor_id: int,
    expected_version: int,
    changes: dict[str, Any],
) -> PitchChange:
    """Apply ``changes`` if the editor may edit and the pitch is still at
    ``expected_version``; a stale version is CONFLICT carrying the current pitch."""
    _check_columns(changes)

    async def update(conn: asyncpg.Connection) -> PitchChange:
        found = await fetch_pitch(conn, pitch_id, editor_id, lock=True)
        if found is None:
            return PitchChange(Outcome.NOT_FOUND)
        pitch, access = found
        if not access.can_edit:
            hidden = pitch.status != "published"
            return PitchChange(Outcome.NOT_FOUND if hidden else Outcome.FORBIDDEN)
        if pitch.version != expected_version:
            return PitchChange(Outcome.CONFLICT, pitch, access)
        names = sorted(changes)
        assignments = "".join(
            f", {name} = {_placeholder(name, i)}" for i, name in enumerate(names, start=2)
        )
        # Live edits based on an older version must see these fields as changed.
        stamps = json.dumps(
            {PITCH_WIRE_NAMES[n]: pitch.version + 1 for n in names if n in PITCH_WIRE_NAMES}
        )
        await conn.execute(
            f"UPDATE pitches SET version = version + 1{assignments}, "
            f"field_versions = field_versions || ${len(names) + 2}::jsonb WHERE id = $1",
            pitch_id,
            *(_encode(name, changes[name]) for name in names),
            stamps,
        )
        updated = await fetch_pitch(conn, pitch_id, editor_id)
        assert updated is not None
        return PitchChange(Outcome.APPLIED, updated[0], access, pitch.status)

    return await storage.transaction(update)


async def set_pitch_status(
    storage: Storage, pitch_id: int, user_id: int, target: str, allowed_from: frozenset[str]
) -> PitchChange:
    """Owner only: move the pitch to ``target`` if its status is in ``allowed_from``
    (CONFLICT otherwise, carrying the pitch so the caller can name its status)."""

    async def change(conn: asyncpg.Connection) -> PitchChange:
        found = await fetch_pitch(conn, pitch_id, user_id, lock=True)
        if found is None:
            return PitchChange(Outcome.NOT_FOUND)
        pitch, access = found
        if not access.is_owner:
            visible = pitch.status == "published" or access.can_edit
            return PitchChange(Outcome.FORBIDDEN if visible else Outcome.NOT_FOUND)
        if pitch.status not in allowed_from:
            return PitchChange(Outcome.CONFLICT, pitch, access)
        await conn.execute(
            "UPDATE pitches SET status = $2, version = version + 1 WHERE id = $1",
            pitch_id,
            target,
        )
        updated = await fetch_pitch(conn, pitch_id, user_id)
        assert updated is not None
        return PitchChange(Outcome.APPLIED, updated[0], access, pitch.status)

    return await storage.transaction(change)


async def delete_pitch(storage: Storage, pitch_id: int, user_id: int) -> PitchChange:
    """Owner only: delete the pitch (and, by cascade, its likes, saves, NDAs, views)."""

    async def delete(conn: asyncpg.Connection) -> PitchChange:
        found = await fetch_pitch(conn, pitch_id, user_id, lock=True)
        if found is None:
            return PitchChange(Outcome.NOT_FOUND)
        pitch, access = found
        if not access.is_owner:
            visible = pitch.status == "published" or access.can_edit
            return PitchChange(Outcome.FORBIDDEN if visible else Outcome.NOT_FOUND)
        await conn.execute("DELETE FROM pitches WHERE id = $1", pitch_id)
        return PitchChange(Outcome.APPLIED, pitch, access, pitch.status)

    return await storage.transaction(delete)


@dataclass(frozen=True, slots=True)
class CollaboratorChange:
    outcome: Outcome
    collaborators: list[Owner]
    reason: str | None = None  # why a CONFLICT: "is_owner", "no_such_user"


async def change_collaborator(
    storage: Storage, pitch_id: int, owner_id: int, user_id: int, *, add: bool
) -> CollaboratorChange:
    """Owner only: add or remove ``user_id`` as a collaborator (both idempotent)."""

    async def change(conn: asyncpg.Connection) -> CollaboratorChange:
        found = await fetch_pitch(conn, pitch_id, owner_id, lock=True)
        if found is None:
            return CollaboratorChange(Outcome.NOT_FOUND, [])
        pitch, access = found
        if not access.is_owner:
            visible = pitch.status == "published" or access.can_edit
            return CollaboratorChange(Outcome.FORBIDDEN if visible else Outcome.NOT_FOUND, [])
        if add:
            if user_id == owner_id:
                return CollaboratorChange(Outcome.CONFLICT, [], "is_owner")
            if not await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id):
                return CollaboratorChange(Outcome.CONFLICT, [], "no_such_user")
            await conn.execute(
                "INSERT INTO pitch_collaborators (pitch_id, user_id, added_by) "
                "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                pitch_id,
                user_id,
                owner_id,
            )
        else:
            await conn.execute(
                "DELETE FROM pitch_collaborators WHERE pitch_id = $1 AND user_id = $2",
                pitch_id,
                user_id,
            )
        return CollaboratorChange(Outcome.APPLIED, await _collaborators(conn, pitch_id))

    return await storage.transaction(change)


async def list_collaborators(storage: Storage, pitch_id: int) -> list[Owner]:
    return await storage.connection(_collaborators, pitch_id)


async def _collaborators(conn: asyncpg.Connection, pitch_id: int) -> list[Owner]:
    rows = await conn.fetch(
        """
        SELECT u.id, u.username, u.first_name, u.last_name, u.company_name, u.user_type
          FROM pitch_collaborators c JOIN users u ON u.id = c.user_id
         WHERE c.pitch_id = $1 ORDER BY c.created_at, u.id
        """,
        pitch_id,
    )
    return [Owner(*row.values()) for row in rows]


async def entitled_pitch_ids(storage: Storage, viewer_id: int, pitch_ids: list[int]) -> set[int]:
    """Which of ``pitch_ids`` the viewer owns, co-edits or holds a signed, unexpired NDA
    for (one query, for overlaying a cached public page)."""

    async def query(conn: asyncpg.Connection) -> set[int]:
        rows = await conn.fetch(
            f"""
            SELECT p.id FROM (SELECT {access_columns("$1::bigint")}, p.id
                                FROM pitches p WHERE p.id = ANY($2::bigint[])) p
             WHERE p.is_owner OR p.is_collaborator OR p.has_nda
            """,
            viewer_id,
            pitch_ids,
        )
        return {row["id"] for row in rows}

    return await storage.connection(query)


def _check_columns(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_COLUMNS
    if unknown:
        raise ValueError(f"not editable pitch columns: {sorted(unknown)}")


def _placeholder(name: str, index: int) -> str:
    return f"${index}::jsonb" if name in _JSON_COLUMNS else f"${index}"


def _encode(name: str, value: Any) -> Any:
    return json.dumps(value) if name in _JSON_COLUMNS else value
