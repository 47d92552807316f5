"""Listing pitches: the public catalogue (filters, ranked full-text search, sort orders),
a creator's own pitches and a user's saved ones. Each page is one crossing.

Search uses ``websearch_to_tsquery`` on the generated ``search_vector`` and ranks by
``ts_rank``; input made only of stop words yields an empty query, and then the search
falls back to a case-insensitive substring match on title and logline.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ._pitches import PITCH_COLUMNS, PITCH_FROM, PitchRecord, pitch_from_row
from ._service import Storage

SORTS = ("new", "trending", "popular")
_ORDER = {
    "new": "p.published_at DESC NULLS LAST, p.id DESC",
    "popular": "p.like_count DESC, p.view_count DESC, p.id DESC",
    # Engagement decaying with age (hours since publication), like a news feed.
    "trending": """(p.like_count * 3 + p.save_count * 4 + p.nda_count * 5 + p.view_count)
                   / power(extract(epoch FROM now() - coalesce(p.published_at, p.created_at))
                           / 3600 + 2, 1.5) DESC, p.id DESC""",
}


@dataclass(frozen=True, slots=True)
class PitchPage:
    items: list[PitchRecord]
    total: int


@dataclass(frozen=True, slots=True)
class PitchQuery:
    page: int = 1
    limit: int = 20
    genre: str | None = None
    format: str | None = None
    budget_range: str | None = None
    search: str | None = None
    sort: str | None = None  # None: by rank when searching, else newest first


async def list_published(storage: Storage, query: PitchQuery) -> PitchPage:
    """Published, public pitches matching ``query``, one page of them and the total."""
    if query.sort is not None and query.sort not in SORTS:
        raise ValueError(f"unknown sort {query.sort!r}")

    async def run(conn: asyncpg.Connection) -> PitchPage:
        conditions = ["p.status = 'published'", "p.visibility = 'public'"]
        args: list[object] = []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if query.genre:
            conditions.append(f"lower(p.genre) = lower({arg(query.genre)})")
        if query.format:
            conditions.append(f"lower(p.format) = lower({arg(query.format)})")
        if query.budget_range:
            conditions.append(f"p.budget_range = {arg(query.budget_range)}")
        rank = "0"
        if query.search:
            tsquery = f"websearch_to_tsquery('english', {arg(query.search)})"
            pattern = arg("%" + _escape_like(query.search.strip()) + "%")
            conditions.append(
                f"""CASE WHEN numnode({tsquery}) > 0 THEN p.search_vector @@ {tsquery}
                         ELSE (p.title ILIKE {pattern} OR p.logline ILIKE {pattern}) END"""
            )
            rank = f"ts_rank(p.search_vector, {tsquery})"
        sort = query.sort or ("rank" if query.search else "new")
        order = f"{rank} DESC, {_ORDER['new']}" if sort == "rank" else _ORDER[sort]
        where = " AND ".join(conditions)
        total = await conn.fetchval(f"SELECT count(*) FROM pitches p WHERE {where}", *args)
        rows = await conn.fetch(
            f"""
            SELECT {PITCH_COLUMNS} FROM {PITCH_FROM} WHERE {where}
             ORDER BY {order} LIMIT {arg(query.limit)} OFFSET {arg(_offset(query))}
            """,
            *args,
        )
        return PitchPage([pitch_from_row(row) for row in rows], total)

    return await storage.connection(run)


async def list_owned(
    storage: Storage, owner_id: int, *, page: int, limit: int, status: str | None = None
) -> PitchPage:
    """Every pitch ``owner_id`` owns or co-edits, in any status, most recently changed
    first."""

    async def run(conn: asyncpg.Connection) -> PitchPage:
        where = """(p.owner_id = $1 OR EXISTS (SELECT 1 FROM pitch_collaborators c
                                               WHERE c.pitch_id = p.id AND c.user_id = $1))
                   AND ($2::text IS NULL OR p.status = $2)"""
        total = await conn.fetchval(
            f"SELECT count(*) FROM pitches p WHERE {where}", owner_id, status
        )
        rows = await conn.fetch(
            f"""
            SELECT {PITCH_COLUMNS} FROM {PITCH_FROM} WHERE {where}
             ORDER BY p.updated_at DESC, p.id DESC LIMIT $3 OFFSET $4
            """,
            owner_id,
            status,
            limit,
            (page - 1) * limit,
        )
        return PitchPage([pitch_from_row(row) for row in rows], total)

    return await storage.connection(run)


async def list_saved(storage: Storage, user_id: int, *, page: int, limit: int) -> PitchPage:
    """Published pitches ``user_id`` saved, most recently saved first."""

    async def run(conn: asyncpg.Connection) -> PitchPage:
        where = "s.user_id = $1 AND p.status = 'published'"
        total = await conn.fetchval(
            f"SELECT count(*) FROM pitch_saves s JOIN pitches p ON p.id = s.pitch_id WHERE {where}",
            user_id,
        )
        rows = await conn.fetch(
            f"""
            SELECT {PITCH_COLUMNS} FROM pitch_saves s JOIN {PITCH_FROM} ON p.id = s.pitch_id
             WHERE {where} ORDER BY s.created_at DESC, p.id DESC LIMIT $2 OFFSET $3
            """,
            user_id,
            limit,
            (page - 1) * limit,
        )
        return PitchPage([pitch_from_row(row) for row in rows], total)

    return await storage.connection(run)


def _offset(query: PitchQuery) -> int:
    return (query.page - 1) * query.limit


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
