"""Who sees the protected content of an NDA pitch: the authorization matrix, checked on
detail, list, search, browse and saved responses alike."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import Api, User

ROLES = [
    ("anonymous", False),
    ("stranger_investor", False),
    ("other_creator", False),
    ("pending_requester", False),
    ("expired_nda_holder", False),
    ("revoked_nda_holder", False),
    ("owner", True),
    ("collaborator", True),
    ("nda_holder", True),
]


@dataclass
class World:
    pitch: dict[str, Any]
    word: str
    viewers: dict[str, User | None]
    owner: User


async def _world(api: Api) -> World:
    owner = await api.register("creator")
    word = f"vq{secrets.token_hex(3)}"
    pitch = await api.protected_pitch(owner, title=f"The {word}", genre=f"g{word}")
    pid = pitch["id"]
    viewers: dict[str, User | None] = {"anonymous": None, "owner": owner}
    for role in ("stranger_investor", "pending_requester", "expired_nda_holder",
                 "revoked_nda_holder", "nda_holder"):  # fmt: skip
        viewers[role] = await api.register("investor")
    viewers["other_creator"] = await api.register("creator")
    viewers["collaborator"] = await api.register("creator")
    await api.client.post(
        f"/api/pitches/{pid}/collaborators",
        json={"userId": viewers["collaborator"].id},
        headers=owner.auth,
    )
    await api.client.post(f"/api/pitches/{pid}/nda", headers=viewers["pending_requester"].auth)
    await api.signed_nda(owner, viewers["nda_holder"], pid)
    expired = await api.signed_nda(owner, viewers["expired_nda_holder"], pid)
    await api.storage.transaction(
        lambda conn: conn.execute(
            "UPDATE ndas SET expires_at = now() - interval '1 minute' WHERE id = $1",
            expired["id"],
        )
    )
    revoked = await api.signed_nda(owner, viewers["revoked_nda_holder"], pid)
    await api.client.post(f"/api/ndas/{revoked['id']}/revoke", headers=owner.auth)
    for viewer in viewers.values():
        if viewer is not None and viewer is not owner:
            await api.client.post(f"/api/pitches/{pid}/save", headers=viewer.auth)
    return World(pitch, word, viewers, owner)


@pytest.fixture
async def world(api: Api) -> World:
    return await _world(api)


def _check(item: dict[str, Any], entitled: bool, owner: User) -> None:
    if entitled:
        assert item["protectedContent"]["budgetBreakdown"] == "SECRET-BUDGET"
        assert item["creator"]["id"] == owner.id and item["ownerId"] == owner.id
        assert item["ndaRequired"] is False
    else:
        assert "protectedContent" not in item and "creator" not in item
        assert "ownerId" not in item
        assert item["ndaRequired"] is True
        assert "SECRET" not in str(item) and owner.username not in str(item)


async def _responses(api: Api, world: World, viewer: User | None) -> dict[str, dict[str, Any]]:
    headers = viewer.auth if viewer else {}
    pid = world.pitch["id"]
    found: dict[str, dict[str, Any]] = {}
    detail = await api.client.get(f"/api/pitches/{pid}", headers=headers)
    found["detail"] = detail.json()["data"]
    queries = {
        "list": ("/api/pitches", {"genre": f"g{world.word}"}),
        "search": ("/api/pitches", {"search": world.word}),
        "browse": ("/api/browse", {"tab": "new", "genre": f"g{world.word}"}),
    }
    for name, (path, params) in queries.items():
        items = (await api.client.get(path, params=params, headers=headers)).json()["data"]
        found[name] = next(item for item in items if item["id"] == pid)
    if viewer is not None and viewer is not world.owner:
        items = (await api.client.get("/api/saved", headers=headers)).json()["data"]
        found["saved"] = next(item for item in items if item["id"] == pid)
    return found


@pytest.mark.parametrize(("role", "entitled"), ROLES)
async def test_protected_content_reaches_only_the_entitled(
    api: Api, world: World, role: str, entitled: bool
) -> None:
    responses = await _responses(api, world, world.viewers[role])
    assert {"detail", "list", "search", "browse"} <= set(responses)
    for where, item in responses.items():
        try:
            _check(item, entitled, world.owner)
        except AssertionError as exc:
            raise AssertionError(f"{role} via {where}: {exc}") from exc


async def test_pitches_without_nda_show_everything_to_everyone(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner, protectedContent={"revenueModel": "open"})
    detail = (await api.client.get(f"/api/pitches/{pitch['id']}")).json()["data"]
    assert detail["protectedContent"] == {"revenueModel": "open"}
    assert detail["ndaRequired"] is False and detail["creator"]["id"] == owner.id


async def test_cached_page_does_not_leak_to_the_next_viewer(api: Api, world: World) -> None:
    holder = world.viewers["nda_holder"]
    assert holder is not None
    params = {"genre": f"g{world.word}"}
    seen = (await api.client.get("/api/pitches", params=params, headers=holder.auth)).json()
    assert "protectedContent" in seen["data"][0]
    anonymous = (await api.client.get("/api/pitches", params=params)).json()
    assert "protectedContent" not in anonymous["data"][0]
