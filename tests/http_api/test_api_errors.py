"""The error envelope: validation details, malformed bodies, sizes, media types."""

from __future__ import annotations

from api_support import PASSWORD, Api

from http_api import MAX_BODY_BYTES


async def test_validation_error_lists_each_field_without_echoing_values(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register",
        json={"email": "not-an-email", "username": "x", "password": "qz7", "userType": "boss"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {detail["field"] for detail in error["details"]}
    assert {"email", "username", "password", "userType"} <= fields
    assert "qz7" not in response.text


async def test_password_of_one_character_class_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register",
        json={"email": "a@b.example", "username": "oneclass", "password": "abcdefghij",
              "userType": "creator"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "password"


async def test_unknown_fields_are_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/login", json={"email": "a@b.example", "password": PASSWORD, "admin": True}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "admin"


async def test_malformed_json_is_invalid_json(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/login", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_a_body_that_is_not_json_is_415(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/login", content=b"email=a", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_missing_body_is_a_validation_error(api: Api) -> None:
    response = await api.client.post("/api/auth/login")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "body"


async def test_body_over_one_mebibyte_is_413_in_the_envelope(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/login",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_bad_query_parameter_is_a_validation_error(api: Api) -> None:
    response = await api.client.get("/api/pitches", params={"limit": 51})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "limit"


async def test_protected_route_without_credentials_is_401(api: Api) -> None:
    response = await api.client.get("/api/users/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_malformed_authorization_header_is_401(api: Api) -> None:
    response = await api.client.get("/api/users/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_id_out_of_range_is_404(api: Api) -> None:
    response = await api.client.get(f"/api/pitches/{2**63}")
    assert response.status_code == 404
