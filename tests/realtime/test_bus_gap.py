"""A node whose bus connection drops fills the room's gap from history (own Redis: the
test kills every pub/sub connection on it)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from ws_client import connect, welcomed

from protocol import Join, Joined, MemberJoined, ServerChat
from realtime import Node
from storage import EmbeddedRedis, append_event, open_storage

from support import RunningNode, Servers, make_pitch, make_user, node_settings


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path)
    await trio.to_thread.run_sync(redis.start)
    try:
        yield redis
    finally:
        await trio.to_thread.run_sync(redis.stop)


async def test_events_published_while_the_bus_is_down_arrive_in_order(
    servers: Servers, own_redis: EmbeddedRedis, storage
) -> None:
    prefix = f"gap-{secrets.token_hex(3)}:"
    user = await make_user(storage, "creator")
    room = f"pitch:{await make_pitch(storage, user)}"
    node = Node(node_settings(servers, REDIS_URL=own_redis.url, REDIS_KEY_PREFIX=prefix))
    with trio.fail_after(30):
        async with (
            open_storage(servers.database_url, own_redis.url, key_prefix=prefix) as theirs,
            trio.open_nursery() as nursery,
        ):
            running = RunningNode(node, await nursery.start(node.run))
            async with connect(running.ws, user.token) as client:
                await welcomed(client)
                await client.send(Join(room=room))
                await client.expect(Joined)
                await client.expect(MemberJoined)

                async def kill_pubsub(redis) -> None:
                    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")

                await theirs.redis(kill_pubsub)
                for n in range(3):  # published while nobody listens: only history has them
                    await append_event(theirs, room, _chat(room, user.id, n))
                chats = [await client.expect(ServerChat) for _ in range(3)]
            node.request_shutdown()
    assert [c.body for c in chats] == ["missed 0", "missed 1", "missed 2"]
    assert [c.seq for c in chats] == [2, 3, 4]
    assert node.hub is not None and node.hub.bus.reconnects >= 1


def _chat(room: str, user_id: int, n: int) -> dict:
    return {
        "type": "chat",
        "room": room,
        "messageId": 10_000 + n,
        "userId": user_id,
        "body": f"missed {n}",
        "clientId": f"gap-{n}",
        "createdAt": 1,
    }
