"""Actors: bounded named mailboxes, tell / send / ask, one-shot replies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
import trio.testing

from realtime._actor import (
    ActorRef,
    ActorStopped,
    AskTimeout,
    Mailbox,
    MailboxFull,
    Reply,
    ask_within,
)


@dataclass
class Add:
    amount: int


@dataclass
class Get:
    reply: Reply[int]


@dataclass
class Ignore:
    reply: Reply[int]


@dataclass
class Boom:
    reply: Reply[int]


@dataclass
class Stop:
    reply: Reply[int]


Msg = Add | Get | Ignore | Boom | Stop


async def counter(*, task_status: trio.TaskStatus[ActorRef[Msg]]) -> None:
    """Adds; answers Get; never answers Ignore; crashes on Boom; returns on Stop."""
    total = 0
    with Mailbox[Msg]("counter", capacity=8) as mailbox:
        task_status.started(mailbox.ref)
        async for message in mailbox:
            match message:
                case Add(amount):
                    total += amount
                case Get(reply):
                    reply.send(total)
                case Boom():
                    raise RuntimeError("boom")
                case Stop():
                    return


async def test_tell_then_ask_round_trip(nursery: trio.Nursery) -> None:
    ref = await nursery.start(counter)
    with trio.fail_after(5):
        ref.tell(Add(2))
        await ref.send(Add(3))
        assert await ref.ask(Get) == 5


async def test_ask_raises_actor_stopped_when_actor_returns_without_replying(
    nursery: trio.Nursery,
) -> None:
    ref = await nursery.start(counter)
    with trio.fail_after(5), pytest.raises(ActorStopped):
        await ref.ask(Stop)


async def test_ask_raises_actor_stopped_when_actor_crashes_before_replying(
    nursery: trio.Nursery,
) -> None:
    crashed = trio.Event()

    async def contained(*, task_status: trio.TaskStatus[ActorRef[Msg]]) -> None:
        try:
            await counter(task_status=task_status)
        except RuntimeError:
            crashed.set()

    ref = await nursery.start(contained)
    with trio.fail_after(5):
        with pytest.raises(ActorStopped):
            await ref.ask(Boom)
        await crashed.wait()


async def test_ask_raises_actor_stopped_for_a_message_still_queued_at_close() -> None:
    mailbox = Mailbox[Msg]("idle", capacity=4)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def ask_it() -> None:
                with pytest.raises(ActorStopped):
                    await mailbox.ref.ask(Get)

            nursery.start_soon(ask_it)
            await trio.testing.wait_all_tasks_blocked()
            assert mailbox.depth == 1
            mailbox.close()


async def test_tell_send_and_ask_on_a_closed_mailbox_raise_actor_stopped() -> None:
    mailbox = Mailbox[Msg]("closed", capacity=4)
    mailbox.close()
    with pytest.raises(ActorStopped):
        mailbox.ref.tell(Add(1))
    with pytest.raises(ActorStopped):
        await mailbox.ref.send(Add(1))
    with pytest.raises(ActorStopped):
        await mailbox.ref.ask(Get)
    assert mailbox.ref.stopped


async def test_ask_honours_the_callers_deadline(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    ref = await nursery.start(counter)
    start = trio.current_time()
    with pytest.raises(trio.TooSlowError), trio.fail_after(3):
        await ref.ask(Ignore)
    assert trio.current_time() - start == pytest.approx(3)


async def test_ask_within_turns_the_deadline_into_ask_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    ref = await nursery.start(counter)
    with pytest.raises(AskTimeout):
        await ask_within(ref, 2, Ignore)
    assert await ask_within(ref, 2, Get) == 0


async def test_tell_on_a_full_mailbox_raises_mailbox_full() -> None:
    mailbox = Mailbox[int]("full", capacity=2)
    mailbox.ref.tell(1)
    mailbox.ref.tell(2)
    with pytest.raises(MailboxFull):
        mailbox.ref.tell(3)
    assert [await mailbox.receive(), await mailbox.receive()] == [1, 2]


async def test_send_waits_for_room_in_a_full_mailbox() -> None:
    mailbox = Mailbox[int]("backpressure", capacity=1)
    mailbox.ref.tell(1)
    sent = trio.Event()

    async def send_second() -> None:
        await mailbox.ref.send(2)
        sent.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_second)
            await trio.testing.wait_all_tasks_blocked()
            assert not sent.is_set()
            assert await mailbox.receive() == 1
            await sent.wait()
        assert await mailbox.receive() == 2


async def test_depth_counts_waiting_messages() -> None:
    mailbox = Mailbox[int]("depth", capacity=5)
    assert (mailbox.ref.depth, mailbox.ref.capacity) == (0, 5)
    for n in range(3):
        mailbox.ref.tell(n)
    assert mailbox.ref.depth == 3
    await mailbox.receive()
    assert mailbox.depth == 2


async def test_closing_a_mailbox_ends_the_actors_iteration() -> None:
    mailbox = Mailbox[int]("ending", capacity=2)
    received: list[int] = []

    async def actor() -> None:
        async for message in mailbox:
            received.append(message)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(actor)
            await mailbox.ref.send(1)
            await trio.testing.wait_all_tasks_blocked()
            mailbox.close()
    assert received == [1]


async def test_reply_fail_raises_that_exception_in_the_asker() -> None:
    mailbox = Mailbox[Reply[int]]("failing", capacity=1)

    async def actor() -> None:
        reply = await mailbox.receive()
        reply.fail(LookupError("no such room"))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(actor)
            with pytest.raises(LookupError, match="no such room"):
                await mailbox.ref.ask(lambda reply: reply)


def test_a_reply_can_be_sent_only_once() -> None:
    reply = Reply[int]()
    reply.send(1)
    with pytest.raises(RuntimeError):
        reply.send(2)
    with pytest.raises(RuntimeError):
        reply.fail(ValueError())


def test_mailbox_capacity_must_be_a_positive_int() -> None:
    with pytest.raises(ValueError):
        Mailbox[int]("unbounded", capacity=0)
    with pytest.raises(ValueError):
        Mailbox[int]("unbounded", capacity=float("inf"))  # type: ignore[arg-type]
