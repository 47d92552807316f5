"""What the realtime side asks PostgreSQL: who a member is, who may join a room, and the
pitch snapshot a member of a pitch room sees.

Room rules: a draft or archived pitch admits its owner and collaborators; a published pitch
admits any authenticated user, except one requiring an NDA, which admits its owner,
collaborators and holders of a signed, unexpired NDA; a conversation admits its
participants. Protected content is included only for those entitled to it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from ._service import Storage

# wire name → (column, is json)
PITCH_FIELDS: dict[str, tuple[str, bool]] = {
    "title": ("title", False),
    "logline": ("logline", False),
    "genre": ("genre", False),
    "format": ("format", False),
    "budgetRange": ("budget_range", False),
    "shortSynopsis": ("short_synopsis", False),
    "longSynopsis": ("long_synopsis", False),
    "targetAudience": ("target_audience", False),
    "comparableTitles": ("comparable_titles", False),
    "themes": ("themes", False),
    "characters": ("characters", True),
    "protectedContent": ("protected_content", True),
    "requireNda": ("require_nda", False),
}


# column → wire name, for code that holds column names
PITCH_WIRE_NAMES: dict[str, str] = {column: wire for wire, (column, _) in PITCH_FIELDS.items()}


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class RoomAccess:
    verdict: Verdict
    can_edit: bool = False
    pitch: dict[str, Any] | None = None  # wire-shaped snapshot for pitch rooms


async def load_member(storage: Storage, user_id: int) -> dict[str, Any] | None:
    """A user's public summary (wire-shaped), or None if there is no such user."""

    async def fetch(conn: asyncpg.Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(
            "SELECT id, username, user_type, first_name, last_name, company_name "
            "FROM users WHERE id = $1",
            user_id,
        )

    row = await storage.connection(fetch)
    if row is None:
        return None
    return {
        "id": row["id"],
        "username": row["username"],
        "userType": row["user_type"],
        "firstName": row["first_name"] or "",
        "lastName": row["last_name"] or "",
        "companyName": row["company_name"],
    }


async def check_room_access(
    storage: Storage, kind: str, entity_id: int, user_id: int
) -> RoomAccess:
    """May ``user_id`` join room ``kind:entity_id``? One round trip to PostgreSQL."""
    if kind == "conversation":
        return await storage.connection(_conversation_access, entity_id, user_id)
    return await storage.connection(_pitch_access, entity_id, user_id)


async def _conversation_access(
    conn: asyncpg.Connection, conversation_id: int, user_id: int
) -> RoomAccess:
    row = await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM conversation_participants "
        "               WHERE conversation_id = $1 AND user_id = $2) AS member, "
        "       EXISTS (SELECT 1 FROM conversations WHERE id = $1) AS found",
        conversation_id,
        user_id,
    )
    if not row["found"]:
        return RoomAccess(Verdict.NOT_FOUND)
    return RoomAccess(Verdict.ALLOWED if row["member"] else Verdict.FORBIDDEN)


_PITCH_QUERY = """
SELECT p.*,
       p.owner_id = $2 AS is_owner,
       EXISTS (SELECT 1 FROM pitch_collaborators c
               WHERE c.pitch_id = p.id AND c.user_id = $2) AS is_collaborator,
       EXISTS (SELECT 1 FROM ndas n
               WHERE n.pitch_id = p.id AND n.requester_id = $2 AND n.status = 'signed'
                 AND (n.expires_at IS NULL OR n.expires_at > now())) AS has_nda
FROM pitches p WHERE p.id = $1
"""


async def _pitch_access(conn: asyncpg.Connection, pitch_id: int, user_id: int) -> RoomAccess:
    row = await conn.fetchrow(_PITCH_QUERY, pitch_id, user_id)
    if row is None:
        return RoomAccess(Verdict.NOT_FOUND)
    editor = row["is_owner"] or row["is_collaborator"]
    if row["status"] != "published":
        allowed = editor
    elif row["require_nda"]:
        allowed = editor or row["has_nda"]
    else:
        allowed = True
    if not allowed:
        # Drafts do not exist for outsiders; a protected pitch does, behind its NDA.
        verdict = Verdict.NOT_FOUND if row["status"] != "published" else Verdict.FORBIDDEN
        return RoomAccess(verdict)
    entitled = editor or not row["require_nda"] or row["has_nda"]
    return RoomAccess(Verdict.ALLOWED, editor, pitch_snapshot(row, protected=entitled))


def pitch_snapshot(row: asyncpg.Record, *, protected: bool) -> dict[str, Any]:
    """A pitch row in wire shape; ``protectedContent`` only when ``protected``."""
    snapshot: dict[str, Any] = {
        "id": row["id"],
        "ownerId": row["owner_id"],
        "status": row["status"],
        "version": row["version"],
    }
    for wire, (column, is_json) in PITCH_FIELDS.items():
        if wire == "protectedContent" and not protected:
            continue
        value = row[column]
        snapshot[wire] = json.loads(value) if is_json and isinstance(value, str) else value
    return snapshot
