"""``--prepare``: create the scenario's accounts straight in PostgreSQL, fast.

Registering over HTTP hashes each password with the server's argon2 parameters (about a
quarter of a second of CPU per account on a small machine), which would make creating a
thousand users a benchmark of argon2. Prepared accounts are inserted in one transaction
with a cheap argon2 hash of the shared load-test password; the users then log in over
HTTP like real clients, and the server verifies the cheap hash quickly. Preparing is
idempotent: existing accounts are left alone, so a prepared roster can be reused.

This is the one part of the harness that talks to the database; it goes through the
``storage`` package's public seeding function and is imported only when asked for.
"""

from __future__ import annotations

from argon2 import PasswordHasher

from ._roster import PASSWORD, VirtualUser

PREPARED_TAG = "p"  # accounts of prepared runs are named with this tag, not a random one


def cheap_hash() -> str:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


async def prepare_accounts(database_url: str, redis_url: str, users: list[VirtualUser]) -> int:
    """Insert the accounts that do not exist yet; returns how many were created."""
    from storage import SeedUser, open_storage, seed

    password_hash = cheap_hash()
    rows = [
        SeedUser(
            email=u.email,
            username=u.username,
            user_type=u.role,
            password_hash=password_hash,
            first_name="Load",
            last_name=f"Test {u.index}",
        )
        for u in users
    ]
    async with open_storage(database_url, redis_url, pool_size=1) as storage:
        result = await seed(storage, rows, [])
    return result.users_created
