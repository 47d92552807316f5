"""Actors: a bounded, named mailbox, a reference to send into it, and one-shot replies.

An actor is a task that owns a ``Mailbox`` and serves its messages one at a time. Everybody
else holds its ``ActorRef``. A request that wants an answer carries a ``Reply``::

    async def counter(*, task_status: trio.TaskStatus[ActorRef[Msg]] = trio.TASK_STATUS_IGNORED):
        with Mailbox[Msg]("counter", capacity=64) as mailbox:  # closed however we leave
            task_status.started(mailbox.ref)
            async for message in mailbox:
                ...  # e.g. message.reply.send(total)

    total = await ref.ask(lambda reply: Get(reply=reply))

When a mailbox is full, ``ActorRef.tell`` raises ``MailboxFull`` at once (the sender decides:
drop, coalesce, or disconnect a slow peer) and ``ActorRef.send`` / ``ActorRef.ask`` wait for
room (backpressure). Closing a mailbox is final: queued messages are dropped, later sends raise
``ActorStopped``, the actor's ``async for`` ends, and every ask still waiting for an answer
through it raises ``ActorStopped`` instead of hanging.

``ask`` has no timeout of its own: the caller sets one (``trio.fail_after``) or uses
``ask_within``, which turns the deadline into ``AskTimeout``.

Exceptions (all plain ``Exception`` subclasses)::

    Exception
     ├── MailboxFull    tell() found no room
     ├── ActorStopped   the mailbox is closed, or the actor stopped before replying
     └── AskTimeout     ask_within() ran out of time
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import trio

M = TypeVar("M")
R = TypeVar("R")


class MailboxFull(Exception):
    """``tell`` found the mailbox at capacity; the message was not delivered."""


class ActorStopped(Exception):
    """The actor's mailbox is closed, or the actor stopped before answering an ask."""


class AskTimeout(Exception):
    """``ask_within`` got no answer in time."""


class Reply(Generic[R]):
    """A one-shot answer slot, carried inside an ask message.

    The actor calls ``send`` or ``fail`` exactly once; a second call raises ``RuntimeError``.
    A reply is tied to the mailbox it was asked through: closing that mailbox fails it with
    ``ActorStopped`` if it is still unanswered.
    """

    __slots__ = ("__weakref__", "_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = trio.Event()
        self._value: R | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def send(self, value: R) -> None:
        """Answer the asker with ``value``."""
        self._settle()
        self._value = value
        self._done.set()

    def fail(self, exc: BaseException) -> None:
        """Make the asker's ``ask`` raise ``exc``."""
        self._settle()
        self._error = exc
        self._done.set()

    async def wait(self) -> R:
        """Wait for the answer; raise the exception given to ``fail``, if any."""
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def _settle(self) -> None:
        if self._done.is_set():
            raise RuntimeError("this reply has already been sent or failed")


class Mailbox(Generic[M]):
    """A bounded trio memory channel pair with a name and a capacity.

    The actor iterates it (or calls ``receive``); others get ``ref``. Use it as a context
    manager so that it is closed however the actor exits, which fails pending asks.
    """

    def __init__(self, name: str, capacity: int) -> None:
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"mailbox {name!r}: capacity must be a positive int, not {capacity}")
        self.name = name
        self.capacity = capacity
        self._send, self._receive = trio.open_memory_channel[M](capacity)
        self._replies: weakref.WeakSet[Reply[Any]] = weakref.WeakSet()
        self._closed = False
        self.ref: ActorRef[M] = ActorRef(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.depth}/{self.capacity}"
        return f"<Mailbox {self.name!r} {state}>"

    @property
    def depth(self) -> int:
        """Messages waiting to be received."""
        return self._send.statistics().current_buffer_used

    @property
    def closed(self) -> bool:
        return self._closed

    async def receive(self) -> M:
        """The next message; ``ActorStopped`` once the mailbox is closed."""
        try:
            return await self._receive.receive()
        except (trio.ClosedResourceError, trio.EndOfChannel):
            raise ActorStopped(f"mailbox {self.name!r} is closed") from None

    def __aiter__(self) -> Mailbox[M]:
        return self

    async def __anext__(self) -> M:
        try:
            return await self.receive()
        except ActorStopped:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop for good: drop queued messages and fail every unanswered reply. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._send.close()
        self._receive.close()
        for reply in list(self._replies):
            if not reply.done:
                reply.fail(ActorStopped(f"actor {self.name!r} stopped before replying"))
        self._replies.clear()

    def __enter__(self) -> Mailbox[M]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _new_reply(self) -> Reply[Any]:
        if self._closed:
            raise ActorStopped(f"actor {self.name!r} is stopped")
        reply: Reply[Any] = Reply()
        self._replies.add(reply)
        return reply


class ActorRef(Generic[M]):
    """The sending side of an actor's mailbox: what other tasks hold and pass around."""

    __slots__ = ("_mailbox",)

    def __init__(self, mailbox: Mailbox[M]) -> None:
        self._mailbox = mailbox

    def __repr__(self) -> str:
        return f"<ActorRef {self.name!r}>"

    @property
    def name(self) -> str:
        return self._mailbox.name

    @property
    def capacity(self) -> int:
        return self._mailbox.capacity

    @property
    def depth(self) -> int:
        """Messages waiting in the mailbox."""
        return self._mailbox.depth

    @property
    def stopped(self) -> bool:
        """True once the mailbox is closed; messages can no longer be delivered."""
        return self._mailbox.closed

    def tell(self, message: M) -> None:
        """Deliver now or raise: ``MailboxFull`` if there is no room, ``ActorStopped`` if closed."""
        try:
            self._mailbox._send.send_nowait(message)
        except trio.WouldBlock:
            raise MailboxFull(f"mailbox {self.name!r} is full ({self.capacity} messages)") from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(f"actor {self.name!r} is stopped") from None

    async def send(self, message: M) -> None:
        """Deliver, waiting for room if the mailbox is full; ``ActorStopped`` if closed."""
        try:
            await self._mailbox._send.send(message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(f"actor {self.name!r} is stopped") from None

    async def ask(self, make: Callable[[Reply[R]], M]) -> R:
        """Send ``make(reply)`` (waiting for room) and return the answer.

        No timeout of its own: wrap it in ``trio.fail_after`` or use ``ask_within``. Raises
        ``ActorStopped`` if the actor is stopped, or stops before answering, and whatever the
        actor passed to ``Reply.fail``.
        """
        reply: Reply[R] = self._mailbox._new_reply()
        await self.send(make(reply))
        return await reply.wait()


async def ask_within(ref: ActorRef[M], seconds: float, make: Callable[[Reply[R]], M]) -> R:
    """``ref.ask(make)`` with a deadline; ``AskTimeout`` if no answer within ``seconds``."""
    with trio.move_on_after(seconds):
        return await ref.ask(make)
    raise AskTimeout(f"actor {ref.name!r} did not answer within {seconds}s")
