"""The bus across a Redis outage, and after it has stopped."""

from __future__ import annotations

import secrets
from pathlib import Path

import msgpack
import pytest
import trio

from storage import Bus, EmbeddedRedis, StorageUnavailable, append_event, open_storage

from support import Servers


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[int, dict]] = []
        self.resubscribed_count = 0

    def deliver(self, seq: int, payload: bytes) -> None:
        self.events.append((seq, msgpack.unpackb(payload)))

    def resubscribed(self) -> None:
        self.resubscribed_count += 1


async def test_unsubscribe_after_the_bus_stopped_is_a_no_op(storage) -> None:
    bus = Bus(storage)
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        await bus.subscribe("pitch:1", Listener())
        nursery.cancel_scope.cancel()
    await bus.unsubscribe("pitch:1")  # a room stopping late in a shutdown
    with pytest.raises(StorageUnavailable):
        await bus.subscribe("pitch:2", Listener())


async def test_the_bus_reconnects_after_redis_returns(servers: Servers, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path)
    await trio.to_thread.run_sync(redis.start)
    room = f"pitch:{secrets.randbelow(10**9) + 1}"
    try:
        async with open_storage(servers.database_url, redis.url, pool_size=2) as storage:
            bus, listener = Bus(storage), Listener()
            with trio.fail_after(30):
                async with trio.open_nursery() as nursery:
                    await nursery.start(bus.run)
                    await bus.subscribe(room, listener)
                    await append_event(storage, room, {"type": "member_left", "n": 1})
                    while not listener.events:  # noqa: ASYNC110 (delivery is a callback)
                        await trio.sleep(0.02)
                    await trio.to_thread.run_sync(redis.stop)
                    while bus.healthy:  # noqa: ASYNC110
                        await trio.sleep(0.02)
                    with pytest.raises(StorageUnavailable):
                        await append_event(storage, room, {"type": "member_left", "n": 2})
                    await trio.to_thread.run_sync(redis.start)
                    while not listener.resubscribed_count:  # noqa: ASYNC110
                        await trio.sleep(0.02)
                    await append_event(storage, room, {"type": "member_left", "n": 3})
                    while len(listener.events) < 2:  # noqa: ASYNC110
                        await trio.sleep(0.02)
                    nursery.cancel_scope.cancel()
    finally:
        await trio.to_thread.run_sync(redis.stop)
    assert bus.healthy is False and bus.reconnects == 1
    assert [(seq, e["n"]) for seq, e in listener.events] == [(1, 1), (2, 3)]
