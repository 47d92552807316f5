"""Idempotent seeding of accounts and pitches (the demo data), in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ._service import Storage


@dataclass(frozen=True, slots=True)
class SeedUser:
    email: str
    username: str
    user_type: str
    password_hash: str
    first_name: str = ""
    last_name: str = ""
    company_name: str | None = None
    bio: str = ""


@dataclass(frozen=True, slots=True)
class SeedPitch:
    owner_email: str
    title: str
    logline: str
    genre: str
    format: str
    budget_range: str
    short_synopsis: str
    long_synopsis: str
    target_audience: str = ""
    comparable_titles: str = ""
    themes: str = ""
    require_nda: bool = False
    protected_content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeedResult:
    users_created: int
    pitches_created: int


async def seed(storage: Storage, users: list[SeedUser], pitches: list[SeedPitch]) -> SeedResult:
    """Create the users and published pitches that do not exist yet (matched by email, and
    by owner and title). Existing rows are left as they are."""
    return await storage.transaction(_seed, users, pitches)


async def _seed(
    conn: asyncpg.Connection, users: list[SeedUser], pitches: list[SeedPitch]
) -> SeedResult:
    users_created = 0
    for u in users:
        row = await conn.fetchrow(
            """
            INSERT INTO users (email, username, user_type, password_hash,
                               first_name, last_name, company_name, bio)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            u.email,
            u.username,
            u.user_type,
            u.password_hash,
            u.first_name,
            u.last_name,
            u.company_name,
            u.bio,
        )
        users_created += row is not None
    owners = {
        r["email"]: r["id"]
        for r in await conn.fetch(
            "SELECT id, lower(email) AS email FROM users WHERE lower(email) = ANY($1::text[])",
            [p.owner_email.lower() for p in pitches],
        )
    }
    pitches_created = 0
    for p in pitches:
        owner_id = owners[p.owner_email.lower()]
        exists = await conn.fetchval(
            "SELECT 1 FROM pitches WHERE owner_id = $1 AND title = $2", owner_id, p.title
        )
        if exists:
            continue
        await conn.execute(
            """
            INSERT INTO pitches (owner_id, title, logline, genre, format, budget_range,
                                 short_synopsis, long_synopsis, target_audience,
                                 comparable_titles, themes, require_nda, protected_content,
                                 status, published_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb,
                    'published', now())
            """,
            owner_id,
            p.title,
            p.logline,
            p.genre,
            p.format,
            p.budget_range,
            p.short_synopsis,
            p.long_synopsis,
            p.target_audience,
            p.comparable_titles,
            p.themes,
            p.require_nda,
            json.dumps(p.protected_content),
        )
        pitches_created += 1
    return SeedResult(users_created, pitches_created)
