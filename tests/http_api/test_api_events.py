"""With Redis down after start: a committed change stays a success (its event is lost,
logged), and rate limiting fails open."""

from __future__ import annotations

import trio
from api_support import PASSWORD

from http_api import AppDeps, RateLimits, create_app
from storage import EmbeddedRedis, open_storage

from support import Servers, free_port


async def test_publish_succeeds_when_redis_is_down_after_commit(servers: Servers, tmp_path) -> None:
    redis = EmbeddedRedis(tmp_path, port=free_port())
    await trio.to_thread.run_sync(redis.start)
    try:
        async with open_storage(servers.database_url, redis.url, pool_size=2) as storage:
            app = create_app(
                AppDeps(storage, "events-test", (), rate_limits=RateLimits(auth=(1000, 300.0)))
            )
            client = app.test_client()
            registered = await client.post(
                "/api/auth/register",
                json={"email": "events-down@example.com", "username": "events_down",
                      "password": PASSWORD, "userType": "creator"},
            )  # fmt: skip
            token = (await registered.get_json())["data"]["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            created = await client.post("/api/pitches", json={"title": "Down"}, headers=auth)
            pitch_id = (await created.get_json())["data"]["id"]

            await trio.to_thread.run_sync(redis.stop)
            published = await client.post(f"/api/pitches/{pitch_id}/publish", headers=auth)

            assert published.status_code == 200
            assert (await published.get_json())["data"]["status"] == "published"
    finally:
        await trio.to_thread.run_sync(redis.stop)
