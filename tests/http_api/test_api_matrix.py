"""The authorization matrix of the write routes: each role, and a stranger, against the
owner's pitches and NDAs. One case per (route, role); a fresh world for each."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, User

ROLES = ("anonymous", "investor", "other_creator", "collaborator", "owner")
_USERS: dict[str, User] = {}  # registered once per run: hashing passwords is the slow part


async def _user(api: Api, role: str, user_type: str) -> User:
    if role not in _USERS:
        _USERS[role] = await api.register(user_type)
    return _USERS[role]


async def _world(api: Api, *, publish: bool) -> tuple[dict[str, User | None], dict[str, Any]]:
    owner = await _user(api, "owner", "creator")
    pitch = await api.pitch(owner, publish=publish)
    people: dict[str, User | None] = {
        "anonymous": None,
        "investor": await _user(api, "investor", "investor"),
        "other_creator": await _user(api, "other_creator", "creator"),
        "collaborator": await _user(api, "collaborator", "creator"),
        "owner": owner,
    }
    collaborator = people["collaborator"]
    assert collaborator is not None
    await api.client.post(
        f"/api/pitches/{pitch['id']}/collaborators",
        json={"userId": collaborator.id},
        headers=owner.auth,
    )
    return people, pitch


async def _call(api: Api, user: User | None, method: str, path: str, body: Any = None) -> int:
    headers = user.auth if user else {}
    response = await api.client.request(method, path, json=body, headers=headers)
    return response.status_code


PUBLISHED = {
    # route: (method, path suffix, body, expected status per role in ROLES order)
    "edit": ("PATCH", "", {"version": 2, "logline": "x"}, (401, 403, 403, 200, 200)),
    "delete": ("DELETE", "", None, (401, 403, 403, 403, 200)),
    "archive": ("POST", "/archive", None, (401, 403, 403, 403, 200)),
    "add collaborator": ("POST", "/collaborators", "investor", (401, 403, 403, 403, 200)),
    "list collaborators": ("GET", "/collaborators", None, (401, 404, 404, 200, 200)),
    "read": ("GET", "", None, (200, 200, 200, 200, 200)),
}
DRAFT = {
    "read": ("GET", "", None, (404, 404, 404, 200, 200)),
    "edit": ("PATCH", "", {"version": 1, "logline": "x"}, (401, 404, 404, 200, 200)),
    "like": ("POST", "/like", None, (401, 404, 404, 200, 200)),
    "publish": ("POST", "/publish", None, (401, 404, 404, 403, 200)),
}


def _cases(table: dict[str, tuple[str, str, Any, tuple[int, ...]]]) -> list[Any]:
    return [
        pytest.param(route, role, expected[i], id=f"{route}-{role}")
        for route, (_, _, _, expected) in table.items()
        for i, role in enumerate(ROLES)
    ]


@pytest.mark.parametrize(("route", "role", "expected"), _cases(PUBLISHED))
async def test_published_pitch_routes(api: Api, route: str, role: str, expected: int) -> None:
    people, pitch = await _world(api, publish=True)
    method, suffix, body, _ = PUBLISHED[route]
    if body == "investor":
        investor = people["investor"]
        assert investor is not None
        body = {"userId": investor.id}
    status = await _call(api, people[role], method, f"/api/pitches/{pitch['id']}{suffix}", body)
    assert status == expected


@pytest.mark.parametrize(("route", "role", "expected"), _cases(DRAFT))
async def test_draft_pitch_routes(api: Api, route: str, role: str, expected: int) -> None:
    people, pitch = await _world(api, publish=False)
    method, suffix, body, _ = DRAFT[route]
    status = await _call(api, people[role], method, f"/api/pitches/{pitch['id']}{suffix}", body)
    assert status == expected


NDA_ROLES = ("anonymous", "stranger", "requester", "owner")
NDA = {
    "read": ("GET", "", None, False, (401, 404, 200, 200)),
    "approve": ("POST", "/approve", None, False, (401, 404, 403, 200)),
    "reject": ("POST", "/reject", {"reason": "no"}, False, (401, 404, 403, 200)),
    "sign": ("POST", "/sign", {"fullName": "A B", "accept": True}, True, (401, 404, 200, 403)),
    "revoke": ("POST", "/revoke", None, True, (401, 404, 403, 200)),
}


@pytest.mark.parametrize(
    ("route", "role", "expected"),
    [
        pytest.param(route, role, spec[4][i], id=f"{route}-{role}")
        for route, spec in NDA.items()
        for i, role in enumerate(NDA_ROLES)
    ],
)
async def test_nda_routes(api: Api, route: str, role: str, expected: int) -> None:
    owner = await _user(api, "owner", "creator")
    requester = await _user(api, "requester", "production")  # each case has a fresh pitch
    people = {
        "anonymous": None,
        "stranger": await _user(api, "investor", "investor"),
        "requester": requester,
        "owner": owner,
    }
    pitch = await api.protected_pitch(owner)
    nda = (await api.client.post(f"/api/pitches/{pitch['id']}/nda", headers=requester.auth)).json()[
        "data"
    ]
    method, suffix, body, approved, _ = NDA[route]
    if approved:
        await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=owner.auth)
    status = await _call(api, people[role], method, f"/api/ndas/{nda['id']}{suffix}", body)
    assert status == expected
