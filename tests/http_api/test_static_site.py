"""The demo page and the browser client as static files: types, CSP, caching, no escapes,
no rate limit, and nothing of it in the OpenAPI document."""

from __future__ import annotations

from api_support import Api

from http_api._static import CLIENT_DIR, DEMO_DIR


async def test_index_is_the_demo_page_with_a_csp_naming_the_websocket_origin(api: Api) -> None:
    response = await api.client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/static/demo/app.js">' in response.text
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "connect-src 'self' ws://127.0.0.1:8099" in policy  # the API fixture's ws_port
    assert response.headers["Cache-Control"] == "no-cache"


async def test_websocket_origin_is_wss_behind_tls(api: Api) -> None:
    response = await api.client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "connect-src 'self' wss://127.0.0.1:8099" in response.headers["Content-Security-Policy"]


async def test_client_modules_and_vendored_msgpack_are_served_as_javascript(api: Api) -> None:
    vendor = "/static/client/vendor/msgpack"
    for path in ("/static/client/pitchey-client.js", f"{vendor}/index.mjs",
                 f"{vendor}/utils/utf8.mjs", "/static/demo/app.js"):  # fmt: skip
        response = await api.client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8", path
    licence = await api.client.get("/static/client/vendor/msgpack/LICENSE")
    assert "MessagePack Community" in licence.text
    served = (await api.client.get("/static/client/pitchey-client.js")).content
    assert served == (CLIENT_DIR / "pitchey-client.js").read_bytes()
    css = await api.client.get("/static/demo/app.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.content == (DEMO_DIR / "app.css").read_bytes()


async def test_unchanged_files_answer_304_to_their_etag(api: Api) -> None:
    first = await api.client.get("/static/client/codec.js")
    again = await api.client.get(
        "/static/client/codec.js", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other = await api.client.get("/static/client/codec.js", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200


async def test_unknown_and_escaping_paths_are_404(api: Api) -> None:
    for path in ("/static/client/nope.js", "/static/client/../../http_api/_app.py",
                 "/static/client/%2e%2e/%2e%2e/pyproject.toml", "/static/demo/",
                 "/static/client/vendor"):  # fmt: skip
        response = await api.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


async def test_static_files_are_not_rate_limited_or_documented(limited_api: Api) -> None:
    for _ in range(8):  # the general limit of this app is 5
        response = await limited_api.client.get("/static/client/reconnect.js")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers
    assert (await limited_api.client.get("/")).status_code == 200
    document = (await limited_api.client.get("/openapi.json")).json()
    assert not [p for p in document["paths"] if p == "/" or p.startswith("/static")]
