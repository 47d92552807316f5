"""Rate limits, CORS, security headers, the OpenAPI document and the docs page."""

from __future__ import annotations

from api_support import ORIGIN, PASSWORD, Api


async def test_responses_carry_rate_limit_headers(limited_api: Api) -> None:
    response = await limited_api.client.get("/api/pitches")
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
    assert 0 < int(response.headers["X-RateLimit-Reset"]) <= 60


async def test_going_over_the_limit_is_429_with_retry_after(limited_api: Api) -> None:
    statuses = [(await limited_api.client.get("/api/pitches")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = await limited_api.client.get("/api/pitches")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_auth_routes_have_their_own_tighter_limit(limited_api: Api) -> None:
    body = {"email": "nobody-limited@example.com", "password": PASSWORD}
    statuses = [
        (await limited_api.client.post("/api/auth/login", json=body)).status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


async def test_health_is_never_limited(limited_api: Api) -> None:
    statuses = {(await limited_api.client.get("/health")).status_code for _ in range(8)}
    assert statuses == {200}


async def test_allowed_origin_gets_cors_headers(api: Api) -> None:
    response = await api.client.get("/api/pitches", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


async def test_preflight_lists_methods_and_headers(api: Api) -> None:
    response = await api.client.options(
        "/api/pitches",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


async def test_other_origins_get_no_cors_headers(api: Api) -> None:
    response = await api.client.get("/api/pitches", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_security_headers_on_every_response(api: Api) -> None:
    for path in ("/api/pitches", "/api/nowhere", "/health"):
        headers = (await api.client.get(path)).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in headers


async def test_hsts_when_the_request_came_over_tls(api: Api) -> None:
    response = await api.client.get("/api/pitches", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_openapi_document_lists_every_route(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/auth/register", "/api/pitches/{pitch_id}", "/api/ndas/{nda_id}/sign",
                 "/api/conversations/{conversation_id}/messages", "/api/ws/token"):  # fmt: skip
        assert path in document["paths"], path
    register = document["paths"]["/api/auth/register"]["post"]
    assert (
        "userType" in register["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
    assert "default" in register["responses"]


async def test_docs_page_renders_without_scripts(api: Api) -> None:
    response = await api.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "<script" not in response.text
    assert "/api/pitches/{pitch_id}" in response.text
