"""Refresh-token rotation and family revocation, against real PostgreSQL."""

from __future__ import annotations

import secrets

from storage import (
    RefreshOutcome,
    Storage,
    create_user,
    revoke_refresh_family,
    rotate_refresh_token,
    start_session,
)


async def _session(storage: Storage) -> tuple[int, str]:
    name = f"rt-{secrets.token_hex(5)}"
    user = await create_user(
        storage, email=f"{name}@example.com", username=name, password_hash="x",
        user_type="investor",
    )  # fmt: skip
    return user.id, await start_session(storage, user.id, ip="127.0.0.1", user_agent="t")


async def test_rotation_issues_a_successor_for_the_same_user(storage: Storage) -> None:
    user_id, token = await _session(storage)
    rotated = await rotate_refresh_token(storage, token, ip=None, user_agent=None)
    assert rotated.outcome is RefreshOutcome.ROTATED
    assert rotated.user is not None and rotated.user.id == user_id
    assert rotated.token not in (None, token)


async def test_reuse_revokes_the_whole_family(storage: Storage) -> None:
    _, token = await _session(storage)
    successor = (await rotate_refresh_token(storage, token, ip=None, user_agent=None)).token
    assert successor is not None
    reused = await rotate_refresh_token(storage, token, ip=None, user_agent=None)
    assert reused.outcome is RefreshOutcome.REUSED
    after = await rotate_refresh_token(storage, successor, ip=None, user_agent=None)
    assert after.outcome is RefreshOutcome.REUSED


async def test_expired_token_is_refused(storage: Storage) -> None:
    user_id, _ = await _session(storage)
    token = await start_session(storage, user_id, ip=None, user_agent=None, ttl=-1)
    result = await rotate_refresh_token(storage, token, ip=None, user_agent=None)
    assert result.outcome is RefreshOutcome.EXPIRED


async def test_logout_revokes_the_family(storage: Storage) -> None:
    user_id, token = await _session(storage)
    assert await revoke_refresh_family(storage, token) == user_id
    result = await rotate_refresh_token(storage, token, ip=None, user_agent=None)
    assert result.outcome is RefreshOutcome.REUSED
    assert await revoke_refresh_family(storage, "unknown") is None
