"""Registration, portal logins, lockout, refresh rotation, logout, session, cookies."""

from __future__ import annotations

import trio
from api_support import ORIGIN, PASSWORD, SECRET, Api, User

from storage import issue_access_token


async def _login(api: Api, user: User, portal: str | None = None, password: str = PASSWORD):
    path = f"/api/auth/{portal}/login" if portal else "/api/auth/login"
    return await api.client.post(path, json={"email": user.email, "password": password})


async def test_register_returns_tokens_and_sets_httponly_cookies(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register",
        json={"email": "Reg-New@Example.com", "username": "reg_new_user", "password": PASSWORD,
              "userType": "investor", "companyName": "Fund"},
    )  # fmt: skip
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["user"]["userType"] == "investor" and data["accessToken"] and data["refreshToken"]
    assert "passwordHash" not in data["user"]
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("pitchey_access=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith("pitchey_refresh=") and "SameSite=Strict" in c for c in cookies)


async def test_duplicate_email_is_409_whatever_the_case(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post(
        "/api/auth/register",
        json={"email": user.email.upper(), "username": "someone_else_1", "password": PASSWORD,
              "userType": "creator"},
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_duplicate_username_is_409(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post(
        "/api/auth/register",
        json={"email": "fresh-address@example.com", "username": user.username.upper(),
              "password": PASSWORD, "userType": "creator"},
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "username_taken"


async def test_portal_login_of_the_right_type_succeeds(api: Api) -> None:
    user = await api.register("production")
    response = await _login(api, user, "production")
    assert response.status_code == 200
    assert response.json()["data"]["user"]["id"] == user.id
    assert response.json()["data"]["expiresAt"]


async def test_generic_login_works_out_the_portal(api: Api) -> None:
    user = await api.register("investor")
    response = await _login(api, user)
    assert response.status_code == 200


async def test_wrong_portal_is_403_whether_or_not_the_password_is_right(api: Api) -> None:
    user = await api.register("investor")
    right = await _login(api, user, "creator")
    wrong = await _login(api, user, "creator", password="Wrong-pass1")
    assert right.status_code == wrong.status_code == 403
    assert right.json()["error"] == wrong.json()["error"]
    assert right.json()["error"]["code"] == "wrong_portal"


async def test_wrong_password_is_401(api: Api) -> None:
    user = await api.register("creator")
    response = await _login(api, user, password="Wrong-pass1")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


async def test_unknown_email_is_401(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/login", json={"email": "nobody-here@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


async def test_fifth_failure_locks_the_account_with_retry_after(api: Api) -> None:
    user = await api.register("creator")
    statuses = [(await _login(api, user, password="Wrong-pass1")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    locked = await _login(api, user)  # even the right password
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "account_locked"
    assert 800 <= int(locked.headers["Retry-After"]) <= 900


async def test_the_lock_is_kept_in_postgresql_and_lapses(api: Api) -> None:
    user = await api.register("creator")
    for _ in range(5):
        await _login(api, user, password="Wrong-pass1")
    until = await api.storage.connection(
        lambda conn: conn.fetchval("SELECT locked_until - now() FROM users WHERE id = $1", user.id)
    )
    assert 14 * 60 < until.total_seconds() <= 15 * 60
    await api.storage.transaction(
        lambda conn: conn.execute(
            "UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1", user.id
        )
    )
    assert (await _login(api, user)).status_code == 200


async def test_success_resets_the_failure_count(api: Api) -> None:
    user = await api.register("creator")
    for _ in range(4):
        await _login(api, user, password="Wrong-pass1")
    assert (await _login(api, user)).status_code == 200
    for _ in range(4):
        assert (await _login(api, user, password="Wrong-pass1")).status_code == 401


async def test_refresh_rotates_the_token(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post("/api/auth/refresh", json={"refreshToken": user.refresh_token})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["refreshToken"] != user.refresh_token
    me = await api.client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {data['accessToken']}"}
    )
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_family(api: Api) -> None:
    user = await api.register("creator")
    first = await api.client.post("/api/auth/refresh", json={"refreshToken": user.refresh_token})
    successor = first.json()["data"]["refreshToken"]
    replay = await api.client.post("/api/auth/refresh", json={"refreshToken": user.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"
    after = await api.client.post("/api/auth/refresh", json={"refreshToken": successor})
    assert after.status_code == 401


async def test_unknown_refresh_token_is_401(api: Api) -> None:
    response = await api.client.post("/api/auth/refresh", json={"refreshToken": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"


async def test_refresh_tokens_are_stored_hashed(api: Api) -> None:
    user = await api.register("creator")
    stored = await api.storage.connection(
        lambda conn: conn.fetch("SELECT token_hash FROM refresh_tokens WHERE user_id = $1", user.id)
    )
    assert stored and all(user.refresh_token.encode() not in row[0] for row in stored)


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    user = await api.register("creator")
    out = await api.client.post(
        "/api/auth/logout", json={"refreshToken": user.refresh_token}, headers=user.auth
    )
    assert out.status_code == 200
    again = await api.client.post("/api/auth/refresh", json={"refreshToken": user.refresh_token})
    assert again.status_code == 401


async def test_logout_everywhere_revokes_access_tokens(api: Api) -> None:
    user = await api.register("creator")
    out = await api.client.post("/api/auth/logout", json={"allDevices": True}, headers=user.auth)
    assert out.status_code == 200
    me = await api.client.get("/api/users/me", headers=user.auth)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "token_revoked"


async def test_session_returns_the_current_user(api: Api) -> None:
    user = await api.register("investor")
    response = await api.client.get("/api/auth/session", headers=user.auth)
    assert response.status_code == 200
    assert response.json()["data"]["user"]["email"] == user.email


async def test_expired_access_token_is_401_token_expired(api: Api) -> None:
    user = await api.register("investor")
    token, _ = issue_access_token(
        SECRET, user_id=user.id, user_type="investor", token_version=0, now=1_000_000
    )
    response = await api.client.get(
        "/api/auth/session", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


async def test_cookie_authenticates_reads(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.get(
        "/api/users/me", headers={"Cookie": f"pitchey_access={user.access_token}"}
    )
    assert response.status_code == 200


async def test_cookie_authenticated_change_without_allowed_origin_is_403(api: Api) -> None:
    user = await api.register("creator")
    cookie = {"Cookie": f"pitchey_access={user.access_token}"}
    refused = await api.client.post(
        "/api/pitches", json={"title": "x"}, headers={**cookie, "Origin": "https://evil.example"}
    )
    missing = await api.client.post("/api/pitches", json={"title": "x"}, headers=cookie)
    assert refused.status_code == missing.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"


async def test_cookie_authenticated_change_from_allowed_origin_succeeds(api: Api) -> None:
    user = await api.register("creator")
    response = await api.client.post(
        "/api/pitches",
        json={"title": "x"},
        headers={"Cookie": f"pitchey_access={user.access_token}", "Origin": ORIGIN},
    )
    assert response.status_code == 201


async def test_refresh_by_cookie_needs_an_allowed_origin(api: Api) -> None:
    user = await api.register("creator")
    cookie = {"Cookie": f"pitchey_refresh={user.refresh_token}"}
    refused = await api.client.post("/api/auth/refresh", headers=cookie)
    assert refused.status_code == 403
    allowed = await api.client.post("/api/auth/refresh", headers={**cookie, "Origin": ORIGIN})
    assert allowed.status_code == 200


async def test_passwords_are_stored_as_argon2id(api: Api) -> None:
    user = await api.register("creator")
    stored = await api.storage.connection(
        lambda conn: conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user.id)
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_concurrent_logins_each_start_a_session(api: Api) -> None:
    user = await api.register("creator")
    statuses: list[int] = []

    async def login() -> None:
        statuses.append((await _login(api, user)).status_code)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(login)
    assert statuses == [200, 200, 200]


async def test_password_hashing_runs_at_most_its_slots_at_once(monkeypatch) -> None:
    """A login storm must not take every core: hashes queue for HASHING_SLOTS threads."""
    import threading
    import time as _time

    from http_api import _passwords

    running, peak = 0, 0
    lock = threading.Lock()
    real = _passwords._hasher

    class CountingHasher:
        def hash(self, password: str) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                _time.sleep(0.02)
                return real.hash(password)
            finally:
                with lock:
                    running -= 1

    monkeypatch.setattr(_passwords, "_hasher", CountingHasher())
    async with trio.open_nursery() as nursery:
        for n in range(6):
            nursery.start_soon(_passwords.hash_password, f"pw-{n}")
    assert peak == _passwords.HASHING_SLOTS
