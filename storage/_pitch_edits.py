"""Live pitch edits: apply what did not change since the editor's version, report the rest.

An edit says which version it was based on. Fields changed by someone else since then
conflict (the editor gets their current values); the others apply, the version goes up by
one and ``field_versions`` records the new version for each applied field. The committed
edit is appended to the pitch room's log, so every node's members see ``pitch_updated``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ._errors import IntegrityViolation
from ._room_access import PITCH_FIELDS
from ._room_log import _append_event_aio
from ._service import Storage


class EditOutcome(enum.Enum):
    APPLIED = "applied"  # some or all fields applied (see conflicts for the rest)
    CONFLICT = "conflict"  # nothing applied: every field conflicted
    FORBIDDEN = "forbidden"  # not an editor of this pitch
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # a value the database refuses (e.g. characters not a list)


@dataclass(frozen=True, slots=True)
class PitchEdit:
    outcome: EditOutcome
    version: int = 0
    applied: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    message: str = ""


async def edit_pitch(
    storage: Storage, pitch_id: int, user_id: int, base_version: int, fields: dict[str, Any]
) -> PitchEdit:
    """Apply a live edit (wire field names) in one transaction, then publish it."""
    unknown = set(fields) - PITCH_FIELDS.keys()
    if unknown:
        return PitchEdit(EditOutcome.INVALID, message=f"unknown fields: {sorted(unknown)}")

    async def run() -> PitchEdit:
        async with storage.aio_pool.acquire() as conn:
            try:
                async with conn.transaction():
                    result = await _apply(conn, pitch_id, user_id, base_version, fields)
            except asyncpg.IntegrityConstraintViolationError as exc:
                return PitchEdit(EditOutcome.INVALID, message=str(IntegrityViolation(str(exc))))
        if result.outcome is not EditOutcome.APPLIED:
            return result
        event = {
            "type": "pitch_updated",
            "room": f"pitch:{pitch_id}",
            "version": result.version,
            "fields": result.applied,
            "userId": user_id,
        }
        seq = await _append_event_aio(storage, f"pitch:{pitch_id}", event)
        return PitchEdit(EditOutcome.APPLIED, result.version, result.applied, result.conflicts, seq)

    return await storage.run_aio(run)


async def _apply(
    conn: asyncpg.Connection,
    pitch_id: int,
    user_id: int,
    base_version: int,
    fields: dict[str, Any],
) -> PitchEdit:
    row = await conn.fetchrow(
        "SELECT p.*, (p.owner_id = $2 OR EXISTS (SELECT 1 FROM pitch_collaborators c "
        "  WHERE c.pitch_id = p.id AND c.user_id = $2)) AS editor "
        "FROM pitches p WHERE p.id = $1 FOR UPDATE",
        pitch_id,
        user_id,
    )
    if row is None:
        return PitchEdit(EditOutcome.NOT_FOUND)
    if not row["editor"]:
        return PitchEdit(EditOutcome.FORBIDDEN)
    changed_at = json.loads(row["field_versions"]) if row["field_versions"] else {}
    stale = base_version > row["version"]
    conflicts = {
        name: _current(row, name)
        for name in fields
        if stale or changed_at.get(name, 0) > base_version
    }
    applied = {name: value for name, value in fields.items() if name not in conflicts}
    if not applied:
        return PitchEdit(EditOutcome.CONFLICT, row["version"], conflicts=conflicts)
    assignments, values = [], []
    for name, value in applied.items():
        column, is_json = PITCH_FIELDS[name]
        values.append(json.dumps(value) if is_json else value)
        cast = "::jsonb" if is_json else ""
        assignments.append(f"{column} = ${len(values) + 1}{cast}")
    version = row["version"] + 1
    stamps = json.dumps({name: version for name in applied})
    await conn.execute(
        f"UPDATE pitches SET {', '.join(assignments)}, version = {version}, "
        f"field_versions = field_versions || ${len(values) + 2}::jsonb, updated_at = now() "
        "WHERE id = $1",
        pitch_id,
        *values,
        stamps,
    )
    return PitchEdit(EditOutcome.APPLIED, version, applied, conflicts)


def _current(row: asyncpg.Record, name: str) -> Any:
    column, is_json = PITCH_FIELDS[name]
    value = row[column]
    return json.loads(value) if is_json and isinstance(value, str) else value
