"""Accounts of virtual users: created (or logged in) over HTTP, kept fresh by refreshing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ._http_client import Api
from ._roster import PASSWORD, VirtualUser

REFRESH_MARGIN_S = 90.0  # refresh the access token when it has less than this left


@dataclass(slots=True)
class Account:
    user: VirtualUser
    base: str  # the target's HTTP base URL
    user_id: int
    access: str
    refresh: str | None
    expires_at: float  # time.time() seconds

    def owner_view(self) -> dict[str, Any]:
        """What the runner needs to create rooms as this user."""
        return {"id": self.user_id, "access": self.access}

    async def fresh_token(self, api: Api) -> str:
        if self.refresh and self.expires_at - time.time() < REFRESH_MARGIN_S:
            reply = await api.call(
                "refresh",
                "POST",
                self.base,
                "/api/auth/refresh",
                source=self.user.source,
                json={"refreshToken": self.refresh},
            )
            if reply.ok:
                self._take(reply.data)
        return self.access

    def _take(self, data: dict[str, Any]) -> None:
        self.access = data["accessToken"]
        self.refresh = data.get("refreshToken")
        self.expires_at = _expiry(data)


def _expiry(data: dict[str, Any]) -> float:
    value = data.get("expiresAt")
    if isinstance(value, int | float):
        return value / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str):
        from datetime import datetime

        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return time.time() + 600.0


async def open_account(api: Api, base: str, user: VirtualUser, *, login: bool) -> Account | None:
    """Register ``user`` (or log in, for prepared accounts); None if the server refused."""
    if login:
        reply = await api.call(
            "login",
            "POST",
            base,
            "/api/auth/login",
            source=user.source,
            json={"email": user.email, "password": PASSWORD},
        )
    else:
        reply = await api.call(
            "register",
            "POST",
            base,
            "/api/auth/register",
            source=user.source,
            json={
                "email": user.email,
                "username": user.username,
                "password": PASSWORD,
                "userType": user.role,
                "firstName": "Load",
                "lastName": f"Test {user.index}",
            },
        )
    if not reply.ok or not isinstance(reply.data, dict):
        return None
    data = reply.data
    return Account(
        user=user,
        base=base,
        user_id=int(data["user"]["id"]),
        access=data["accessToken"],
        refresh=data.get("refreshToken"),
        expires_at=_expiry(data),
    )
