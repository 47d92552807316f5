"""The signed-in user's account, public profiles and follows."""

from __future__ import annotations

from api_support import PASSWORD, Api


async def test_me_includes_private_fields(api: Api) -> None:
    user = await api.register("investor", companyName="Fund One")
    response = await api.client.get("/api/users/me", headers=user.auth)
    data = response.json()["data"]
    assert data["email"] == user.email and data["companyName"] == "Fund One"
    assert "passwordHash" not in data and "tokenVersion" not in data


async def test_patch_me_changes_only_the_given_fields(api: Api) -> None:
    user = await api.register("creator", firstName="Ada")
    response = await api.client.patch(
        "/api/users/me", json={"bio": "Writer.", "location": "Leeds"}, headers=user.auth
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["bio"], data["location"], data["firstName"]) == ("Writer.", "Leeds", "Ada")


async def test_patch_me_can_clear_a_field_with_null(api: Api) -> None:
    user = await api.register("creator", firstName="Ada")
    response = await api.client.patch("/api/users/me", json={"firstName": None}, headers=user.auth)
    assert response.json()["data"]["firstName"] is None


async def test_password_change_needs_the_current_password(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.patch(
        "/api/users/me",
        json={"currentPassword": "Wrong-pass1", "newPassword": "Brand-new-1"},
        headers=user.auth,
    )
    assert response.status_code == 403


async def test_password_change_revokes_existing_tokens(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.patch(
        "/api/users/me",
        json={"currentPassword": PASSWORD, "newPassword": "Brand-new-1"},
        headers=user.auth,
    )
    assert response.status_code == 200
    assert (await api.client.get("/api/users/me", headers=user.auth)).status_code == 401
    login = await api.client.post(
        "/api/auth/login", json={"email": user.email, "password": "Brand-new-1"}
    )
    assert login.status_code == 200


async def test_public_profile_has_no_email_or_settings(api: Api) -> None:
    user = await api.register("production", companyName="Stellar")
    response = await api.client.get(f"/api/users/{user.id}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["companyName"] == "Stellar"
    assert "email" not in data and "emailNotifications" not in data
    assert user.email not in response.text


async def test_unknown_user_is_404(api: Api) -> None:
    assert (await api.client.get("/api/users/999999999")).status_code == 404


async def test_follow_and_unfollow_move_the_follower_count(api: Api) -> None:
    creator = await api.register("creator")
    fan = await api.register("investor")
    followed = await api.client.post(f"/api/users/{creator.id}/follow", headers=fan.auth)
    again = await api.client.post(f"/api/users/{creator.id}/follow", headers=fan.auth)
    assert (
        followed.json()["data"] == again.json()["data"] == {"following": True, "followerCount": 1}
    )
    profile = await api.client.get(f"/api/users/{creator.id}", headers=fan.auth)
    assert profile.json()["data"]["isFollowing"] is True
    gone = await api.client.delete(f"/api/users/{creator.id}/follow", headers=fan.auth)
    assert gone.json()["data"] == {"following": False, "followerCount": 0}


async def test_following_yourself_is_422(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post(f"/api/users/{user.id}/follow", headers=user.auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "cannot_follow_self"


async def test_following_an_unknown_user_is_404(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post("/api/users/999999999/follow", headers=user.auth)
    assert response.status_code == 404
