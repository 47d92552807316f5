"""Conversations: find-or-create, participants only, messages with the room sequence,
idempotent sends, read markers, notifications and the room log."""

from __future__ import annotations

from typing import Any

from api_support import Api, User

from storage import consume_ws_ticket, read_history


async def _open(api: Api, user: User, **body: Any) -> tuple[int, dict[str, Any]]:
    response = await api.client.post("/api/conversations", json=body, headers=user.auth)
    return response.status_code, response.json()


async def _pair(api: Api) -> tuple[User, User, int]:
    a = await api.register("creator")
    b = await api.register("investor")
    status, body = await _open(api, a, userId=b.id)
    assert status == 201
    return a, b, body["data"]["id"]


async def test_opening_twice_finds_the_same_conversation(api: Api) -> None:
    a, b, conversation_id = await _pair(api)
    status, body = await _open(api, b, userId=a.id)
    assert status == 200 and body["data"]["id"] == conversation_id
    assert {p["id"] for p in body["data"]["participants"]} == {a.id, b.id}


async def test_a_conversation_about_a_pitch_reaches_its_creator(api: Api) -> None:
    creator = await api.register("creator")
    investor = await api.register("investor")
    pitch = await api.pitch(creator)
    status, body = await _open(api, investor, pitchId=pitch["id"])
    assert status == 201
    assert body["data"]["pitchId"] == pitch["id"]
    assert {p["id"] for p in body["data"]["participants"]} == {creator.id, investor.id}


async def test_talking_to_yourself_is_422(api: Api) -> None:
    a = await api.register("creator")
    status, _ = await _open(api, a, userId=a.id)
    assert status == 422


async def test_empty_open_request_is_a_validation_error(api: Api) -> None:
    a = await api.register("creator")
    status, body = await _open(api, a)
    assert status == 400 and body["error"]["code"] == "validation_error"


async def test_messages_take_the_next_room_sequence(api: Api) -> None:
    a, b, cid = await _pair(api)
    seqs = []
    for user, text in ((a, "hi"), (b, "hello"), (a, "how are you")):
        response = await api.client.post(
            f"/api/conversations/{cid}/messages", json={"body": text}, headers=user.auth
        )
        assert response.status_code == 201
        seqs.append(response.json()["data"]["seq"])
    assert seqs == [1, 2, 3]
    history = await api.client.get(f"/api/conversations/{cid}/messages", headers=b.auth)
    assert [m["body"] for m in history.json()["data"]] == ["hi", "hello", "how are you"]
    older = await api.client.get(
        f"/api/conversations/{cid}/messages", params={"before": 3, "limit": 1}, headers=b.auth
    )
    assert [m["seq"] for m in older.json()["data"]] == [2]


async def test_repeated_client_id_returns_the_original_message(api: Api) -> None:
    a, _, cid = await _pair(api)
    path = f"/api/conversations/{cid}/messages"
    first = await api.client.post(path, json={"body": "x", "clientId": "c-1"}, headers=a.auth)
    again = await api.client.post(path, json={"body": "x", "clientId": "c-1"}, headers=a.auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["data"] == again.json()["data"]
    count = await api.storage.connection(
        lambda conn: conn.fetchval("SELECT last_seq FROM conversations WHERE id = $1", cid)
    )
    assert count == 1


async def test_non_participants_get_404(api: Api) -> None:
    _, _, cid = await _pair(api)
    stranger = await api.register("production")
    path = f"/api/conversations/{cid}/messages"
    assert (await api.client.get(path, headers=stranger.auth)).status_code == 404
    sent = await api.client.post(path, json={"body": "x"}, headers=stranger.auth)
    assert sent.status_code == 404
    read = await api.client.post(f"/api/conversations/{cid}/read", headers=stranger.auth)
    assert read.status_code == 404


async def test_a_message_notifies_the_other_participant(api: Api) -> None:
    a, b, cid = await _pair(api)
    await api.client.post(
        f"/api/conversations/{cid}/messages", json={"body": "ping"}, headers=a.auth
    )
    notes = await api.client.get("/api/notifications", headers=b.auth)
    body = notes.json()
    assert body["meta"]["unreadCount"] == 1
    assert body["data"][0]["kind"] == "new_message"
    assert body["data"][0]["data"]["conversationId"] == cid


async def test_unread_count_follows_the_read_marker(api: Api) -> None:
    a, b, cid = await _pair(api)
    for text in ("1", "2"):
        await api.client.post(
            f"/api/conversations/{cid}/messages", json={"body": text}, headers=a.auth
        )
    listed = await api.client.get("/api/conversations", headers=b.auth)
    assert listed.json()["data"][0]["unreadCount"] == 2
    read = await api.client.post(f"/api/conversations/{cid}/read", json={"seq": 1}, headers=b.auth)
    assert read.json()["data"] == {"lastReadSeq": 1}
    listed = await api.client.get("/api/conversations", headers=b.auth)
    assert listed.json()["data"][0]["unreadCount"] == 1


async def test_sending_appends_to_the_rooms_log(api: Api) -> None:
    a, _, cid = await _pair(api)
    await api.client.post(
        f"/api/conversations/{cid}/messages", json={"body": "live", "clientId": "k"},
        headers=a.auth,
    )  # fmt: skip
    current, events = await read_history(api.storage, f"conversation:{cid}")
    assert current == 1
    (event,) = events
    assert (event["seq"], event["userId"], event["body"], event["clientId"]) == (
        1, a.id, "live", "k",
    )  # fmt: skip
    assert isinstance(event["createdAt"], int)


async def test_notifications_are_marked_read_one_or_all(api: Api) -> None:
    a, b, cid = await _pair(api)
    for text in ("1", "2", "3"):
        await api.client.post(
            f"/api/conversations/{cid}/messages", json={"body": text}, headers=a.auth
        )
    notes = (await api.client.get("/api/notifications", headers=b.auth)).json()["data"]
    one = await api.client.post(f"/api/notifications/{notes[0]['id']}/read", headers=b.auth)
    assert one.json()["data"]["readAt"] is not None
    not_mine = await api.client.post(f"/api/notifications/{notes[1]['id']}/read", headers=a.auth)
    assert not_mine.status_code == 404
    everything = await api.client.post("/api/notifications/read-all", headers=b.auth)
    assert everything.json()["data"] == {"updated": 2}
    unread = await api.client.get("/api/notifications?unread=true", headers=b.auth)
    assert unread.json()["meta"]["unreadCount"] == 0 and unread.json()["data"] == []


async def test_ws_token_is_a_single_use_ticket(api: Api) -> None:
    user = await api.register("investor")
    response = await api.client.get("/api/ws/token", headers=user.auth)
    data = response.json()["data"]
    assert data["expiresIn"] == 60
    assert data["wsUrl"] == "ws://127.0.0.1:8099/ws"
    assert await consume_ws_ticket(api.storage, data["token"]) == user.id
    assert await consume_ws_ticket(api.storage, data["token"]) is None


async def test_ws_token_needs_a_signed_in_user(api: Api) -> None:
    assert (await api.client.get("/api/ws/token")).status_code == 401
