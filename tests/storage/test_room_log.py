"""The room log: gapless sequences, atomic history + publish, idempotent chat, the bus."""

from __future__ import annotations

import secrets

import msgpack
import trio

from storage import Bus, append_chat, append_event, read_history


def _room() -> str:
    return f"pitch:{secrets.randbelow(10**9) + 1}"


class Collector:
    def __init__(self) -> None:
        self.events: list[tuple[int, dict]] = []
        self.resubscriptions = 0
        self.arrived = trio.Event()
        self.expect = 0

    def deliver(self, seq: int, payload: bytes) -> None:
        self.events.append((seq, msgpack.unpackb(payload)))
        if len(self.events) >= self.expect:
            self.arrived.set()

    def resubscribed(self) -> None:
        self.resubscriptions += 1


async def test_sequences_are_gapless_under_concurrent_appends(storage) -> None:
    room = _room()
    seqs: list[int] = []

    async def append(i: int) -> None:
        seqs.append(await append_event(storage, room, {"type": "member_joined", "n": i}))

    async with trio.open_nursery() as nursery:
        for i in range(40):
            nursery.start_soon(append, i)
    assert sorted(seqs) == list(range(1, 41))
    current, events = await read_history(storage, room, count=100)
    assert current == 40
    assert [e["seq"] for e in events] == list(range(1, 41))


async def test_history_after_a_sequence_is_exact(storage) -> None:
    room = _room()
    for i in range(10):
        await append_event(storage, room, {"type": "member_left", "i": i})
    current, events = await read_history(storage, room, after=6)
    assert current == 10
    assert [e["seq"] for e in events] == [7, 8, 9, 10]
    assert [e["i"] for e in events] == [6, 7, 8, 9]
    _, newest = await read_history(storage, room, count=3)
    assert [e["seq"] for e in newest] == [8, 9, 10]


async def test_chat_is_stored_and_idempotent_on_client_id(storage) -> None:
    room = _room()
    user_id = await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $1, 'x', 'creator') RETURNING id",
            f"chat-{secrets.token_hex(4)}@example.com",
        )
    )
    first = await append_chat(storage, room, sender_id=user_id, body="hello", client_id="c-1")
    again = await append_chat(storage, room, sender_id=user_id, body="hello", client_id="c-1")
    other = await append_chat(storage, room, sender_id=user_id, body="second", client_id="c-2")
    assert not first.duplicate and again.duplicate
    assert (again.seq, again.message_id) == (first.seq, first.message_id)
    assert other.seq == first.seq + 1
    rows = await storage.connection(
        lambda conn: conn.fetch("SELECT id, seq, body FROM messages WHERE room = $1", room)
    )
    assert sorted((r["seq"], r["body"]) for r in rows) == [(1, "hello"), (2, "second")]
    _, events = await read_history(storage, room)
    assert [e["body"] for e in events] == ["hello", "second"]
    assert events[0]["messageId"] == first.message_id


async def test_lost_counter_restarts_above_postgres(storage) -> None:
    room = _room()
    user_id = await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $1, 'x', 'investor') RETURNING id",
            f"floor-{secrets.token_hex(4)}@example.com",
        )
    )
    for n in range(3):
        await append_chat(storage, room, sender_id=user_id, body=f"m{n}", client_id=f"k{n}")
    seq_key = storage.key("room", "{" + room + "}", "seq")
    await storage.redis(lambda client: client.delete(seq_key))  # Redis lost the counter
    assert await append_event(storage, room, {"type": "member_joined"}) == 4


async def test_bus_delivers_in_order_to_the_subscribed_room_only(storage) -> None:
    room, other = _room(), _room()
    bus = Bus(storage)
    collector, stranger = Collector(), Collector()
    collector.expect = 25
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(bus.run)
            await bus.subscribe(room, collector)
            await bus.subscribe(other, stranger)
            await bus.unsubscribe(other)
            for i in range(25):
                await append_event(storage, room, {"type": "chat", "i": i})
                await append_event(storage, other, {"type": "chat", "i": i})
            await collector.arrived.wait()
            nursery.cancel_scope.cancel()
    assert [seq for seq, _ in collector.events] == list(range(1, 26))
    assert [event["i"] for _, event in collector.events] == list(range(25))
    assert stranger.events == []
