"""Password hashing with argon2id. Hashing is CPU work: run it off the event loop, and
at most ``HASHING_SLOTS`` at a time (half the cores): each hash takes tens of milliseconds
on several lanes, so a login storm on the default 40 worker threads would take every core
and stall the sockets and every other request. With the limit, a storm slows logins only.
"""

from __future__ import annotations

import os

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
HASHING_SLOTS = max(1, (os.cpu_count() or 2) // 2)
_slots: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar("hashing_slots")


def _limiter() -> trio.CapacityLimiter:
    """This trio run's limiter (one per run: a node is one run)."""
    try:
        return _slots.get()
    except LookupError:
        limiter = trio.CapacityLimiter(HASHING_SLOTS)
        _slots.set(limiter)
        return limiter


async def hash_password(password: str) -> str:
    return await trio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter())


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await trio.to_thread.run_sync(check, limiter=_limiter())
