"""The NDA state machine over HTTP: who may do what, when, and what it leaves behind."""

from __future__ import annotations

from typing import Any

import trio
from api_support import Api, User

from storage import open_domain_events


async def _request(api: Api, requester: User, pitch_id: int, **body: Any):
    return await api.client.post(f"/api/pitches/{pitch_id}/nda", json=body, headers=requester.auth)


async def _pending(api: Api) -> tuple[User, User, dict[str, Any], dict[str, Any]]:
    owner = await api.register("creator")
    investor = await api.register("investor")
    pitch = await api.protected_pitch(owner)
    response = await _request(api, investor, pitch["id"], message="hello",
                              companyInfo={"name": "Fund"})  # fmt: skip
    assert response.status_code == 201
    return owner, investor, pitch, response.json()["data"]


async def test_request_starts_pending_with_a_30_day_deadline(api: Api) -> None:
    _, investor, _, nda = await _pending(api)
    assert nda["status"] == "pending" and nda["requester"]["id"] == investor.id
    assert nda["companyInfo"] == {"name": "Fund"}
    assert nda["ownerId"] is None  # the creator stays anonymous until signed
    days = await api.storage.connection(
        lambda conn: conn.fetchval(
            "SELECT extract(day FROM expires_at - requested_at) FROM ndas WHERE id = $1",
            nda["id"],
        )
    )
    assert days == 30


async def test_creators_cannot_request_ndas(api: Api) -> None:
    owner = await api.register("creator")
    other = await api.register("creator")
    pitch = await api.protected_pitch(owner)
    response = await _request(api, other, pitch["id"])
    assert response.status_code == 403


async def test_pitch_without_nda_requirement_is_422(api: Api) -> None:
    owner = await api.register("creator")
    investor = await api.register("investor")
    pitch = await api.pitch(owner)
    response = await _request(api, investor, pitch["id"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "nda_not_required"


async def test_second_active_request_is_409(api: Api) -> None:
    _, investor, pitch, _ = await _pending(api)
    response = await _request(api, investor, pitch["id"])
    assert response.status_code == 409
    assert response.json()["error"]["details"]["currentStatus"] == "pending"


async def test_full_lifecycle_writes_audit_rows_and_notifications(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    approved = await api.client.post(
        f"/api/ndas/{nda['id']}/approve", json={"terms": "Standard"}, headers=owner.auth
    )
    assert approved.json()["data"]["status"] == "approved"
    signed = await api.client.post(
        f"/api/ndas/{nda['id']}/sign", json={"fullName": "Ivy Invest", "accept": True},
        headers={**investor.auth, "User-Agent": "test-agent/1"},
    )  # fmt: skip
    data = signed.json()["data"]
    assert data["status"] == "signed" and data["signerName"] == "Ivy Invest"
    assert data["documentVersion"] and data["ownerId"] == owner.id
    row = await api.storage.connection(
        lambda conn: conn.fetchrow(
            "SELECT signer_ip, signer_user_agent, signed_at FROM ndas WHERE id = $1", nda["id"]
        )
    )
    assert row["signer_ip"] == "127.0.0.1" and row["signer_user_agent"] == "test-agent/1"
    actions = await api.storage.connection(
        lambda conn: conn.fetch(
            "SELECT action FROM audit_log WHERE entity_type = 'nda' AND entity_id = $1 ORDER BY id",
            nda["id"],
        )
    )
    assert [a["action"] for a in actions] == ["nda.pending", "nda.approved", "nda.signed"]
    owner_kinds = await _notification_kinds(api, owner)
    investor_kinds = await _notification_kinds(api, investor)
    assert {"nda_requested", "nda_signed"} <= owner_kinds
    assert "nda_approved" in investor_kinds


async def _notification_kinds(api: Api, user: User) -> set[str]:
    response = await api.client.get("/api/notifications", headers=user.auth)
    return {n["kind"] for n in response.json()["data"]}


async def test_illegal_transition_is_409_naming_the_state(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    sign = await api.client.post(
        f"/api/ndas/{nda['id']}/sign", json={"fullName": "X", "accept": True},
        headers=investor.auth,
    )  # fmt: skip
    assert sign.status_code == 409
    assert sign.json()["error"]["code"] == "invalid_state"
    assert sign.json()["error"]["details"]["currentStatus"] == "pending"
    revoke = await api.client.post(f"/api/ndas/{nda['id']}/revoke", headers=owner.auth)
    assert revoke.status_code == 409


async def test_only_the_owner_approves_and_strangers_see_nothing(api: Api) -> None:
    _, investor, _, nda = await _pending(api)
    stranger = await api.register("investor")
    by_requester = await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=investor.auth)
    assert by_requester.status_code == 403
    by_stranger = await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=stranger.auth)
    assert by_stranger.status_code == 404
    assert (
        await api.client.get(f"/api/ndas/{nda['id']}", headers=stranger.auth)
    ).status_code == 404


async def test_sign_requires_accepting(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=owner.auth)
    response = await api.client.post(
        f"/api/ndas/{nda['id']}/sign", json={"fullName": "X", "accept": False},
        headers=investor.auth,
    )  # fmt: skip
    assert response.status_code == 400


async def test_approval_with_expiry_in_the_past_is_422(api: Api) -> None:
    owner, _, _, nda = await _pending(api)
    response = await api.client.post(
        f"/api/ndas/{nda['id']}/approve", json={"expiresAt": "2001-01-01T00:00:00Z"},
        headers=owner.auth,
    )  # fmt: skip
    assert response.status_code == 422


async def test_approved_term_becomes_the_signed_expiry(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    await api.client.post(
        f"/api/ndas/{nda['id']}/approve", json={"expiresAt": "2099-01-01T00:00:00Z"},
        headers=owner.auth,
    )  # fmt: skip
    signed = await api.client.post(
        f"/api/ndas/{nda['id']}/sign", json={"fullName": "X", "accept": True},
        headers=investor.auth,
    )  # fmt: skip
    assert signed.json()["data"]["expiresAt"].startswith("2099-01-01")


async def test_rejection_starts_a_seven_day_cooldown(api: Api) -> None:
    owner, investor, pitch, nda = await _pending(api)
    rejected = await api.client.post(
        f"/api/ndas/{nda['id']}/reject", json={"reason": "Not now"}, headers=owner.auth
    )
    assert rejected.json()["data"]["status"] == "rejected"
    again = await _request(api, investor, pitch["id"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "nda_cooldown"
    assert int(again.headers["Retry-After"]) > 6 * 86400
    await api.storage.transaction(
        lambda conn: conn.execute(
            "UPDATE ndas SET responded_at = now() - interval '8 days' WHERE id = $1", nda["id"]
        )
    )
    assert (await _request(api, investor, pitch["id"])).status_code == 201


async def test_expiry_is_enforced_when_read(api: Api) -> None:
    owner, investor, pitch, nda = await _pending(api)
    await api.storage.transaction(
        lambda conn: conn.execute(
            "UPDATE ndas SET expires_at = now() - interval '1 second' WHERE id = $1", nda["id"]
        )
    )
    read = await api.client.get(f"/api/ndas/{nda['id']}", headers=investor.auth)
    assert read.json()["data"]["status"] == "expired"
    approve = await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=owner.auth)
    assert approve.status_code == 409
    assert approve.json()["error"]["details"]["currentStatus"] == "expired"
    assert (await _request(api, investor, pitch["id"])).status_code == 201


async def test_lists_split_incoming_and_outgoing(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    incoming = await api.client.get("/api/ndas?direction=incoming", headers=owner.auth)
    outgoing = await api.client.get("/api/ndas?direction=outgoing", headers=investor.auth)
    assert [n["id"] for n in incoming.json()["data"]] == [nda["id"]]
    assert [n["id"] for n in outgoing.json()["data"]] == [nda["id"]]
    filtered = await api.client.get(
        "/api/ndas?direction=incoming&status=signed", headers=owner.auth
    )
    assert filtered.json()["data"] == []


async def test_pitch_nda_returns_the_callers_nda_or_null(api: Api) -> None:
    _, investor, pitch, nda = await _pending(api)
    other = await api.register("production")
    mine = await api.client.get(f"/api/pitches/{pitch['id']}/nda", headers=investor.auth)
    assert mine.json()["data"]["id"] == nda["id"]
    none = await api.client.get(f"/api/pitches/{pitch['id']}/nda", headers=other.auth)
    assert none.status_code == 200 and none.json()["data"] is None


async def test_double_approve_has_one_winner(api: Api) -> None:
    owner, _, _, nda = await _pending(api)
    statuses: list[int] = []

    async def approve() -> None:
        response = await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=owner.auth)
        statuses.append(response.status_code)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(approve)
            nursery.start_soon(approve)
    assert sorted(statuses) == [200, 409]


async def test_transition_publishes_nda_changed_after_commit(api: Api) -> None:
    owner, investor, _, nda = await _pending(api)
    with trio.fail_after(15):
        async with open_domain_events(api.storage) as events:
            await api.client.post(f"/api/ndas/{nda['id']}/approve", headers=owner.auth)
            seen = []
            while len(seen) < 2:
                seen.append(await events.receive())
    kinds = {event.kind: event.data for event in seen}
    assert kinds["nda_changed"] == {
        "ndaId": nda["id"], "pitchId": nda["pitchId"], "requesterId": investor.id,
        "ownerId": owner.id, "status": "approved",
    }  # fmt: skip
    assert kinds["notification"]["userId"] == investor.id
