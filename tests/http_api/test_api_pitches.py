"""Pitch CRUD, status changes, collaborators, listing, search, browse and mine."""

from __future__ import annotations

import secrets

from api_support import Api


async def test_creator_creates_a_draft(api: Api) -> None:
    creator = await api.register("creator")
    response = await api.client.post(
        "/api/pitches",
        json={"title": "Night Shift", "genre": "drama", "characters": [{"name": "Mo"}]},
        headers=creator.auth,
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["status"], data["version"], data["canEdit"]) == ("draft", 1, True)
    assert data["creator"]["id"] == creator.id
    assert data["characters"] == [{"name": "Mo"}]


async def test_investors_cannot_create_pitches(api: Api) -> None:
    investor = await api.register("investor")
    response = await api.client.post("/api/pitches", json={"title": "x"}, headers=investor.auth)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_user_type"


async def test_anonymous_cannot_create_pitches(api: Api) -> None:
    assert (await api.client.post("/api/pitches", json={"title": "x"})).status_code == 401


async def test_drafts_are_404_for_everyone_but_owner_and_collaborators(api: Api) -> None:
    owner = await api.register("creator")
    collaborator = await api.register("creator")
    other = await api.register("creator")
    investor = await api.register("investor")
    draft = await api.pitch(owner, publish=False)
    await api.client.post(
        f"/api/pitches/{draft['id']}/collaborators",
        json={"userId": collaborator.id},
        headers=owner.auth,
    )
    path = f"/api/pitches/{draft['id']}"
    assert (await api.client.get(path)).status_code == 404
    assert (await api.client.get(path, headers=other.auth)).status_code == 404
    assert (await api.client.get(path, headers=investor.auth)).status_code == 404
    assert (await api.client.get(path, headers=owner.auth)).status_code == 200
    assert (await api.client.get(path, headers=collaborator.auth)).status_code == 200


async def test_owner_and_collaborator_edit_others_may_not(api: Api) -> None:
    owner = await api.register("creator")
    collaborator = await api.register("investor")
    other = await api.register("creator")
    pitch = await api.pitch(owner)
    await api.client.post(
        f"/api/pitches/{pitch['id']}/collaborators",
        json={"userId": collaborator.id},
        headers=owner.auth,
    )
    path = f"/api/pitches/{pitch['id']}"
    by_owner = await api.client.patch(
        path, json={"version": pitch["version"], "logline": "New"}, headers=owner.auth
    )
    assert by_owner.status_code == 200 and by_owner.json()["data"]["logline"] == "New"
    version = by_owner.json()["data"]["version"]
    by_collaborator = await api.client.patch(
        path, json={"version": version, "genre": "noir"}, headers=collaborator.auth
    )
    assert by_collaborator.status_code == 200
    by_other = await api.client.patch(
        path, json={"version": version + 1, "genre": "x"}, headers=other.auth
    )
    assert by_other.status_code == 403


async def test_stale_version_is_409_with_the_current_pitch(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    path = f"/api/pitches/{pitch['id']}"
    await api.client.patch(
        path, json={"version": pitch["version"], "title": "A"}, headers=owner.auth
    )
    stale = await api.client.patch(
        path, json={"version": pitch["version"], "title": "B"}, headers=owner.auth
    )
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "version_conflict"
    assert error["details"]["currentVersion"] == pitch["version"] + 1
    assert error["details"]["pitch"]["title"] == "A"


async def test_collaborators_may_not_delete_or_publish(api: Api) -> None:
    owner = await api.register("creator")
    collaborator = await api.register("creator")
    draft = await api.pitch(owner, publish=False)
    path = f"/api/pitches/{draft['id']}"
    await api.client.post(
        f"{path}/collaborators", json={"userId": collaborator.id}, headers=owner.auth
    )
    assert (await api.client.post(f"{path}/publish", headers=collaborator.auth)).status_code == 403
    assert (await api.client.delete(path, headers=collaborator.auth)).status_code == 403
    assert (await api.client.delete(path, headers=owner.auth)).status_code == 200
    assert (await api.client.get(path, headers=owner.auth)).status_code == 404


async def test_collaborators_can_be_listed_and_removed(api: Api) -> None:
    owner = await api.register("creator")
    collaborator = await api.register("creator")
    pitch = await api.pitch(owner)
    path = f"/api/pitches/{pitch['id']}/collaborators"
    added = await api.client.post(path, json={"userId": collaborator.id}, headers=owner.auth)
    assert [c["id"] for c in added.json()["data"]["collaborators"]] == [collaborator.id]
    listed = await api.client.get(path, headers=collaborator.auth)
    assert listed.status_code == 200
    removed = await api.client.request(
        "DELETE", path, json={"userId": collaborator.id}, headers=owner.auth
    )
    assert removed.json()["data"]["collaborators"] == []


async def test_only_the_owner_adds_collaborators(api: Api) -> None:
    owner = await api.register("creator")
    other = await api.register("creator")
    pitch = await api.pitch(owner)
    response = await api.client.post(
        f"/api/pitches/{pitch['id']}/collaborators", json={"userId": other.id}, headers=other.auth
    )
    assert response.status_code == 403


async def test_adding_an_unknown_user_as_collaborator_is_404(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    response = await api.client.post(
        f"/api/pitches/{pitch['id']}/collaborators", json={"userId": 999999999},
        headers=owner.auth,
    )  # fmt: skip
    assert response.status_code == 404


async def test_publish_twice_is_409_naming_the_status(api: Api) -> None:
    owner = await api.register("creator")
    pitch = await api.pitch(owner)
    response = await api.client.post(f"/api/pitches/{pitch['id']}/publish", headers=owner.auth)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["currentStatus"] == "published"


async def test_archived_pitches_leave_the_public_list(api: Api) -> None:
    owner = await api.register("creator")
    tag = secrets.token_hex(4)
    pitch = await api.pitch(owner, genre=f"g{tag}")
    archived = await api.client.post(f"/api/pitches/{pitch['id']}/archive", headers=owner.auth)
    assert archived.json()["data"]["status"] == "archived"
    listed = await api.client.get("/api/pitches", params={"genre": f"g{tag}"})
    assert listed.json()["data"] == []
    assert (await api.client.get(f"/api/pitches/{pitch['id']}")).status_code == 404


async def test_list_filters_paginates_and_reports_meta(api: Api) -> None:
    owner = await api.register("creator")
    genre = f"g{secrets.token_hex(4)}"
    for _ in range(3):
        await api.pitch(owner, genre=genre, format="feature")
    await api.pitch(owner, genre=genre, format="series")
    page = await api.client.get(
        "/api/pitches", params={"genre": genre, "format": "feature", "limit": 2, "page": 2}
    )
    body = page.json()
    assert body["meta"] == {"page": 2, "limit": 2, "total": 3, "pages": 2}
    assert len(body["data"]) == 1


async def test_drafts_never_appear_in_the_public_list(api: Api) -> None:
    owner = await api.register("creator")
    genre = f"g{secrets.token_hex(4)}"
    await api.pitch(owner, publish=False, genre=genre)
    listed = await api.client.get("/api/pitches", params={"genre": genre}, headers=owner.auth)
    assert listed.json()["meta"]["total"] == 0


async def test_search_ranks_title_matches_first(api: Api) -> None:
    owner = await api.register("creator")
    word = f"zq{secrets.token_hex(3)}"
    body_match = await api.pitch(owner, title="Plain title", longSynopsis=f"about {word}")
    title_match = await api.pitch(owner, title=f"The {word} affair")
    found = await api.client.get("/api/pitches", params={"search": word})
    ids = [p["id"] for p in found.json()["data"]]
    assert ids == [title_match["id"], body_match["id"]]


async def test_search_of_only_stop_words_falls_back_to_substring(api: Api) -> None:
    owner = await api.register("creator")
    tag = secrets.token_hex(3)
    pitch = await api.pitch(owner, title=f"The And Of {tag}", genre=f"g{tag}")
    found = await api.client.get(
        "/api/pitches", params={"search": "the and of", "genre": f"g{tag}"}
    )
    assert found.status_code == 200
    assert [p["id"] for p in found.json()["data"]] == [pitch["id"]]


async def test_sort_popular_orders_by_likes(api: Api) -> None:
    owner = await api.register("creator")
    fan = await api.register("investor")
    genre = f"g{secrets.token_hex(4)}"
    quiet = await api.pitch(owner, genre=genre)
    liked = await api.pitch(owner, genre=genre)
    await api.client.post(f"/api/pitches/{liked['id']}/like", headers=fan.auth)
    for sort in ("popular", "trending"):
        found = await api.client.get("/api/pitches", params={"genre": genre, "sort": sort})
        assert [p["id"] for p in found.json()["data"]] == [liked["id"], quiet["id"]], sort


async def test_browse_tabs_list_published_pitches(api: Api) -> None:
    owner = await api.register("creator")
    genre = f"g{secrets.token_hex(4)}"
    older = await api.pitch(owner, genre=genre)
    newer = await api.pitch(owner, genre=genre)
    for tab in ("new", "trending", "popular"):
        response = await api.client.get("/api/browse", params={"tab": tab, "genre": genre})
        assert response.status_code == 200
        assert response.json()["meta"]["total"] == 2
    new = await api.client.get("/api/browse", params={"tab": "new", "genre": genre})
    assert [p["id"] for p in new.json()["data"]] == [newer["id"], older["id"]]


async def test_mine_lists_every_status(api: Api) -> None:
    owner = await api.register("creator")
    draft = await api.pitch(owner, publish=False)
    published = await api.pitch(owner)
    mine = await api.client.get("/api/pitches/mine", headers=owner.auth)
    ids = {p["id"] for p in mine.json()["data"]}
    assert {draft["id"], published["id"]} <= ids
    drafts = await api.client.get("/api/pitches/mine?status=draft", headers=owner.auth)
    assert {p["id"] for p in drafts.json()["data"]} == {draft["id"]}


async def test_edit_of_a_published_pitch_shows_in_the_cached_list(api: Api) -> None:
    owner = await api.register("creator")
    genre = f"g{secrets.token_hex(4)}"
    pitch = await api.pitch(owner, genre=genre)
    first = await api.client.get("/api/pitches", params={"genre": genre})
    assert first.json()["data"][0]["title"] == pitch["title"]
    await api.client.patch(
        f"/api/pitches/{pitch['id']}", json={"version": pitch["version"], "title": "Renamed"},
        headers=owner.auth,
    )  # fmt: skip
    second = await api.client.get("/api/pitches", params={"genre": genre})
    assert second.json()["data"][0]["title"] == "Renamed"


async def test_publish_shows_in_the_cached_list(api: Api) -> None:
    owner = await api.register("creator")
    genre = f"g{secrets.token_hex(4)}"
    await api.pitch(owner, genre=genre)
    assert (await api.client.get("/api/pitches", params={"genre": genre})).json()["meta"][
        "total"
    ] == 1
    await api.pitch(owner, genre=genre)
    listed = await api.client.get("/api/pitches", params={"genre": genre})
    assert listed.json()["meta"]["total"] == 2
