"""Access tokens and WebSocket tickets, the credentials all nodes share."""

from __future__ import annotations

import secrets

import pytest

from storage import (
    InvalidToken,
    consume_ws_ticket,
    create_ws_ticket,
    issue_access_token,
    token_version_matches,
    verify_access_token,
)

SECRET = "k" * 48


def test_token_round_trip_carries_user_type_and_version() -> None:
    token, issued = issue_access_token(SECRET, user_id=42, user_type="investor", token_version=3)
    claims = verify_access_token(SECRET, token)
    assert claims == issued
    assert (claims.user_id, claims.user_type, claims.token_version) == (42, "investor", 3)


def test_expired_token_is_refused() -> None:
    token, claims = issue_access_token(
        SECRET, user_id=1, user_type="creator", token_version=0, now=1_000_000
    )
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(SECRET, token, now=claims.expires_at + 1)
    assert verify_access_token(SECRET, token, now=claims.expires_at - 1).user_id == 1


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken, match="invalid"):
        verify_access_token(SECRET, token)


def test_token_signed_with_another_secret_is_refused() -> None:
    token, _ = issue_access_token("o" * 48, user_id=1, user_type="creator", token_version=0)
    with pytest.raises(InvalidToken):
        verify_access_token(SECRET, token)


async def test_token_version_follows_the_users_row(storage) -> None:
    email = f"ver-{secrets.token_hex(4)}@example.com"
    user_id = await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $1, 'x', 'creator') RETURNING id",
            email,
        )
    )
    _, claims = issue_access_token(SECRET, user_id=user_id, user_type="creator", token_version=0)
    assert await token_version_matches(storage, claims)
    await storage.transaction(
        lambda conn: conn.execute(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1", user_id
        )
    )
    assert not await token_version_matches(storage, claims)


async def test_ws_ticket_is_single_use(storage) -> None:
    ticket = await create_ws_ticket(storage, 99)
    assert await consume_ws_ticket(storage, ticket) == 99
    assert await consume_ws_ticket(storage, ticket) is None
    assert await consume_ws_ticket(storage, "never-issued") is None
