"""Helpers for the HTTP API tests: fresh users, pitches and NDAs through the API itself."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from storage import Storage

SECRET = "api-test-secret-" + "y" * 40
ORIGIN = "https://app.pitchey.test"
PASSWORD = "Sup3r-secret"


@dataclass
class User:
    id: int
    email: str
    username: str
    user_type: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Api:
    client: httpx.AsyncClient
    storage: Storage

    async def register(self, user_type: str = "creator", **extra: Any) -> User:
        suffix = secrets.token_hex(5)
        body = {
            "email": f"{user_type}-{suffix}@example.com",
            "username": f"{user_type}_{suffix}",
            "password": PASSWORD,
            "userType": user_type,
            **extra,
        }
        response = await self.client.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        user = data["user"]
        return User(
            user["id"],
            user["email"],
            user["username"],
            user["userType"],
            data["accessToken"],
            data["refreshToken"],
        )

    async def pitch(self, owner: User, *, publish: bool = True, **fields: Any) -> dict[str, Any]:
        """A pitch by ``owner`` (published unless told otherwise)."""
        body = {"title": f"Pitch {secrets.token_hex(3)}", "logline": "A story.", **fields}
        response = await self.client.post("/api/pitches", json=body, headers=owner.auth)
        assert response.status_code == 201, response.text
        pitch = response.json()["data"]
        if publish:
            response = await self.client.post(
                f"/api/pitches/{pitch['id']}/publish", headers=owner.auth
            )
            assert response.status_code == 200, response.text
            pitch = response.json()["data"]
        return pitch

    async def protected_pitch(self, owner: User, **fields: Any) -> dict[str, Any]:
        return await self.pitch(
            owner,
            requireNda=True,
            protectedContent={"budgetBreakdown": "SECRET-BUDGET", "contactDetails": "SECRET"},
            **fields,
        )

    async def signed_nda(self, owner: User, requester: User, pitch_id: int) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/pitches/{pitch_id}/nda", json={"message": "please"}, headers=requester.auth
        )
        assert response.status_code == 201, response.text
        nda_id = response.json()["data"]["id"]
        response = await self.client.post(f"/api/ndas/{nda_id}/approve", headers=owner.auth)
        assert response.status_code == 200, response.text
        response = await self.client.post(
            f"/api/ndas/{nda_id}/sign",
            json={"fullName": "Ivy Investor", "accept": True},
            headers=requester.auth,
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]
