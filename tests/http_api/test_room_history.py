"""``GET /api/pitches/{id}/history``: a pitch room's earlier events, for scrolling back."""

from __future__ import annotations

from api_support import Api

from protocol import pitch_room
from storage import append_chat


async def _chats(api: Api, room: str, user_id: int, count: int) -> None:
    for i in range(1, count + 1):
        await append_chat(
            api.storage, room, sender_id=user_id, body=f"message {i}", client_id=f"h-{i}"
        )


async def test_pages_back_from_before_oldest_first(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    await _chats(api, pitch_room(pitch["id"]), owner.id, 7)
    url = f"/api/pitches/{pitch['id']}/history"

    newest = (await api.client.get(url, params={"limit": 3}, headers=owner.auth)).json()
    assert [e["body"] for e in newest["data"]] == ["message 5", "message 6", "message 7"]
    assert newest["meta"] == {"room": f"pitch:{pitch['id']}", "seq": 7, "hasMore": True}
    assert newest["data"][0] == {
        **newest["data"][0], "type": "chat", "seq": 5, "userId": owner.id, "clientId": "h-5",
    }  # fmt: skip

    before = newest["data"][0]["seq"]
    older = await api.client.get(url, params={"before": before, "limit": 10}, headers=owner.auth)
    assert [e["seq"] for e in older.json()["data"]] == [1, 2, 3, 4]
    assert older.json()["meta"]["hasMore"] is False

    nothing = await api.client.get(url, params={"before": 1}, headers=owner.auth)
    assert nothing.json()["data"] == [] and nothing.json()["meta"]["hasMore"] is False


async def test_anyone_signed_in_reads_a_public_pitch_room(api: Api) -> None:
    owner = await api.register("creator")
    reader = await api.register("investor")
    pitch = await api.pitch(owner)
    await _chats(api, pitch_room(pitch["id"]), owner.id, 2)
    response = await api.client.get(f"/api/pitches/{pitch['id']}/history", headers=reader.auth)
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    anonymous = await api.client.get(f"/api/pitches/{pitch['id']}/history")
    assert anonymous.status_code == 401


async def test_a_protected_room_needs_a_signed_nda(api: Api) -> None:
    owner = await api.register("creator")
    reader = await api.register("investor")
    pitch = await api.protected_pitch(owner)
    url = f"/api/pitches/{pitch['id']}/history"
    refused = await api.client.get(url, headers=reader.auth)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    await api.signed_nda(owner, reader, pitch["id"])
    assert (await api.client.get(url, headers=reader.auth)).status_code == 200


async def test_drafts_and_missing_pitches_are_404_and_bad_queries_422(api: Api) -> None:
    owner = await api.register("creator")
    outsider = await api.register("investor")
    draft = await api.pitch(owner, publish=False)
    draft_url = f"/api/pitches/{draft['id']}/history"
    assert (await api.client.get(draft_url, headers=outsider.auth)).status_code == 404
    assert (await api.client.get(draft_url, headers=owner.auth)).status_code == 200
    missing = await api.client.get("/api/pitches/999999999/history", headers=owner.auth)
    assert missing.status_code == 404
    for params in ({"before": 0}, {"limit": 101}, {"limit": "x"}):
        bad = await api.client.get(draft_url, params=params, headers=owner.auth)
        assert bad.status_code in (400, 422), params
        assert bad.json()["error"]["code"] == "validation_error"
