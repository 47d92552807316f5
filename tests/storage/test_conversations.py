"""append_conversation_message: the room sequence, idempotency, participants only."""

from __future__ import annotations

import secrets

import trio

from storage import (
    Storage,
    append_conversation_message,
    conversation_room,
    mark_conversation_read,
    open_conversation,
)


async def _user(storage: Storage) -> int:
    name = f"conv-{secrets.token_hex(5)}"
    return await storage.transaction(
        lambda conn: conn.fetchval(
            "INSERT INTO users (email, username, password_hash, user_type) "
            "VALUES ($1, $2, 'x', 'creator') RETURNING id",
            f"{name}@example.com",
            name,
        )
    )


async def _conversation(storage: Storage) -> tuple[int, int, int]:
    a, b = await _user(storage), await _user(storage)
    opened = await open_conversation(storage, a, b, None)
    assert opened is not None and opened.created
    return a, b, opened.conversation.id


async def test_messages_get_consecutive_sequence_numbers(storage: Storage) -> None:
    a, b, cid = await _conversation(storage)
    first = await append_conversation_message(storage, cid, a, "one")
    second = await append_conversation_message(storage, cid, b, "two")
    assert first is not None and second is not None
    assert (first.message.seq, second.message.seq) == (1, 2)
    assert first.message.room == conversation_room(cid) == f"conversation:{cid}"


async def test_concurrent_senders_never_share_a_sequence(storage: Storage) -> None:
    a, b, cid = await _conversation(storage)
    seqs: list[int] = []

    async def send(sender: int, n: int) -> None:
        appended = await append_conversation_message(storage, cid, sender, f"m{n}")
        assert appended is not None
        seqs.append(appended.message.seq)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for n in range(10):
                nursery.start_soon(send, a if n % 2 else b, n)
    assert sorted(seqs) == list(range(1, 11))


async def test_a_repeated_client_id_returns_the_original(storage: Storage) -> None:
    a, _, cid = await _conversation(storage)
    first = await append_conversation_message(storage, cid, a, "hi", "client-1")
    again = await append_conversation_message(storage, cid, a, "hi", "client-1")
    assert first is not None and again is not None
    assert first.created and not again.created
    assert again.message == first.message and again.notifications == []


async def test_a_new_message_notifies_the_other_participant(storage: Storage) -> None:
    a, b, cid = await _conversation(storage)
    appended = await append_conversation_message(storage, cid, a, "hello")
    assert appended is not None
    assert [(n.user_id, n.kind) for n in appended.notifications] == [(b, "new_message")]


async def test_outsiders_cannot_append(storage: Storage) -> None:
    _, _, cid = await _conversation(storage)
    outsider = await _user(storage)
    assert await append_conversation_message(storage, cid, outsider, "x") is None
    assert await append_conversation_message(storage, 2**62, outsider, "x") is None


async def test_read_marker_never_passes_the_last_message(storage: Storage) -> None:
    a, b, cid = await _conversation(storage)
    await append_conversation_message(storage, cid, a, "one")
    assert await mark_conversation_read(storage, cid, b, 99) == 1
    assert await mark_conversation_read(storage, cid, b, 0) == 1


async def test_a_sequence_stored_by_another_writer_is_never_reused(storage: Storage) -> None:
    a, _, cid = await _conversation(storage)
    await storage.transaction(
        lambda conn: conn.execute(
            "INSERT INTO messages (room, sender_id, body, seq) VALUES ($1, $2, 'ws', 5)",
            conversation_room(cid),
            a,
        )
    )
    appended = await append_conversation_message(storage, cid, a, "http")
    assert appended is not None and appended.message.seq == 6
