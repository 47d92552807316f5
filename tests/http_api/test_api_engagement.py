"""Likes, saves, views: idempotent, exact under concurrency, visible pitches only."""

from __future__ import annotations

import trio
from api_support import Api


async def test_like_is_idempotent_and_unlike_takes_it_back(api: Api) -> None:
    owner = await api.register("creator")
    fan = await api.register("investor")
    pitch = await api.pitch(owner)
    path = f"/api/pitches/{pitch['id']}/like"
    first = await api.client.post(path, headers=fan.auth)
    second = await api.client.post(path, headers=fan.auth)
    assert first.json()["data"] == second.json()["data"] == {"liked": True, "likeCount": 1}
    undone = await api.client.delete(path, headers=fan.auth)
    assert undone.json()["data"] == {"liked": False, "likeCount": 0}


async def test_fifty_parallel_likes_count_exactly(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    fans = [await api.register("investor") for _ in range(50)]
    statuses: list[int] = []

    async def like(token: dict[str, str]) -> None:
        response = await api.client.post(f"/api/pitches/{pitch['id']}/like", headers=token)
        statuses.append(response.status_code)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for fan in fans:
                nursery.start_soon(like, fan.auth)
    assert statuses == [200] * 50
    detail = await api.client.get(f"/api/pitches/{pitch['id']}")
    assert detail.json()["data"]["likeCount"] == 50


async def test_saved_list_shows_saved_pitches(api: Api) -> None:
    owner = await api.register("creator")
    fan = await api.register("production")
    pitch = await api.pitch(owner)
    saved = await api.client.post(f"/api/pitches/{pitch['id']}/save", headers=fan.auth)
    assert saved.json()["data"] == {"saved": True, "saveCount": 1}
    listed = await api.client.get("/api/saved", headers=fan.auth)
    assert [p["id"] for p in listed.json()["data"]] == [pitch["id"]]
    await api.client.delete(f"/api/pitches/{pitch['id']}/save", headers=fan.auth)
    assert (await api.client.get("/api/saved", headers=fan.auth)).json()["data"] == []


async def test_a_view_counts_once_per_user_per_day(api: Api) -> None:
    owner = await api.register("creator")
    viewer = await api.register("investor")
    pitch = await api.pitch(owner)
    path = f"/api/pitches/{pitch['id']}/view"
    first = await api.client.post(path, headers=viewer.auth)
    second = await api.client.post(path, headers=viewer.auth)
    assert first.json()["data"] == {"counted": True, "viewCount": 1}
    assert second.json()["data"] == {"counted": False, "viewCount": 1}


async def test_a_view_on_another_day_counts_again(api: Api) -> None:
    owner = await api.register("creator")
    viewer = await api.register("investor")
    pitch = await api.pitch(owner)
    path = f"/api/pitches/{pitch['id']}/view"
    await api.client.post(path, headers=viewer.auth)
    await api.storage.transaction(
        lambda conn: conn.execute(
            "UPDATE pitch_views SET view_date = view_date - 1 WHERE pitch_id = $1", pitch["id"]
        )
    )
    again = await api.client.post(path, headers=viewer.auth)
    assert again.json()["data"] == {"counted": True, "viewCount": 2}


async def test_drafts_cannot_be_liked_by_others(api: Api) -> None:
    owner = await api.register("creator")
    fan = await api.register("investor")
    draft = await api.pitch(owner, publish=False)
    response = await api.client.post(f"/api/pitches/{draft['id']}/like", headers=fan.auth)
    assert response.status_code == 404


async def test_liking_needs_a_signed_in_user(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    assert (await api.client.post(f"/api/pitches/{pitch['id']}/like")).status_code == 401


async def test_two_simultaneous_edits_of_one_version_give_one_409(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    statuses: list[int] = []

    async def edit(title: str) -> None:
        response = await api.client.patch(
            f"/api/pitches/{pitch['id']}",
            json={"version": pitch["version"], "title": title},
            headers=owner.auth,
        )
        statuses.append(response.status_code)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(edit, "First")
            nursery.start_soon(edit, "Second")
    assert sorted(statuses) == [200, 409]
