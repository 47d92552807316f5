"""Liveness, readiness and the response envelope on a real node."""

from __future__ import annotations

import httpx
import trio

from http_api import AppDeps, create_app
from storage import EmbeddedRedis, open_storage

from support import RunningNode, Servers, free_port


async def test_health_answers_ok(node: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=node.http) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["success"] is True
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-ID"]) >= 8


async def test_ready_lists_both_dependencies(node: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=node.http) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    dependencies = response.json()["data"]["dependencies"]
    assert set(dependencies) == {"postgres", "redis"}
    for dependency in dependencies.values():
        assert dependency["status"] == "up"
        assert dependency["latencyMs"] >= 0


async def test_unknown_route_gets_404_in_the_envelope(node: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=node.http) as client:
        response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "not_found"


async def test_wrong_method_gets_405_in_the_envelope(node: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=node.http) as client:
        response = await client.post("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


async def test_supplied_request_id_is_echoed(node: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=node.http) as client:
        response = await client.get("/health", headers={"X-Request-ID": "abc-12345678"})
    assert response.headers["X-Request-ID"] == "abc-12345678"


async def test_unhandled_error_is_a_500_with_reference_and_no_trace(servers: Servers) -> None:
    async with open_storage(servers.database_url, servers.redis_url, pool_size=1) as storage:
        app = create_app(AppDeps(storage, "test-node", ()))

        @app.get("/explode")
        async def explode() -> dict:
            raise RuntimeError("secret internals")

        response = await app.test_client().get("/explode")
        body = await response.get_json()
    assert response.status_code == 500
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["details"]["reference"] == response.headers["X-Request-ID"]
    assert "secret internals" not in str(body) and "Traceback" not in str(body)


async def test_ready_turns_503_while_redis_is_down(servers: Servers, tmp_path) -> None:
    redis = EmbeddedRedis(tmp_path, port=free_port())
    await trio.to_thread.run_sync(redis.start)
    try:
        async with open_storage(servers.database_url, redis.url, pool_size=1) as storage:
            client = create_app(AppDeps(storage, "test-node", ())).test_client()
            assert (await client.get("/ready")).status_code == 200

            await trio.to_thread.run_sync(redis.stop)
            response = await client.get("/ready")
            body = await response.get_json()
            assert response.status_code == 503
            assert body["error"]["details"]["dependencies"]["redis"]["status"] == "down"
            assert body["error"]["details"]["dependencies"]["postgres"]["status"] == "up"

            await trio.to_thread.run_sync(redis.start)
            assert (await client.get("/ready")).status_code == 200
    finally:
        await trio.to_thread.run_sync(redis.stop)
