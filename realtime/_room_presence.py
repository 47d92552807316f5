"""What a room tells the other nodes besides its durable events: who is here, and the
typing and presence changes of its local members.

:class:`PresenceRecorder` keeps the room's presence in Redis (``storage._presence``) in
line with its local members, under the node's lease: one script call per batch of
changes, retried with backoff while Redis is away. Entering and leaving are idempotent, so
a retry after an unclear failure is safe, and an outage delays ``member_joined`` /
``member_left`` but loses none. When the node takes a new lease, everything is recorded
again under it (the old lease is reaped with what it held).

:class:`EphemeralOutbox` publishes typing and presence events for the other nodes, in
batches; when its buffer is full, or Redis is away, they are dropped and counted (they are
ephemeral by contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
import trio

from storage import Entering, StorageError, change_presence, publish_ephemeral

if TYPE_CHECKING:
    from ._room import Room
    from ._session import Session

log = structlog.get_logger("realtime.room")

EPHEMERAL_BUFFER = 256  # typing/presence events waiting to be published; beyond: dropped
EPHEMERAL_BATCH = 64
PRESENCE_RETRY_MAX = 2.0  # seconds between presence writes while Redis is away


class PresenceRecorder:
    """The users a room has recorded in Redis, and the task that keeps them current."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.recorded: set[int] = set()  # users recorded under ``lease``
        self.lease = ""
        self._wake = trio.Event()

    @property
    def clean(self) -> bool:
        """Nothing recorded: the room may stop without leaving presence behind."""
        return not self.recorded

    def opened(self, lease: str) -> None:
        """The room started: ``lease`` has nothing recorded in it (it was purged)."""
        self.lease = lease
        self.recorded.clear()

    def wake(self) -> None:
        """Local membership (or the lease, or Redis) changed: write what differs."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.05
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            room = self.room
            lease = room.hub.lease
            if lease != self.lease:
                self.recorded.clear()
                self.lease = lease
            local: dict[int, Session] = {}
            for session in room.members:
                local.setdefault(session.user_id, session)
            entering = [
                Entering(uid, s.user, s.presence)
                for uid, s in local.items()
                if uid not in self.recorded
            ]
            leaving = [uid for uid in self.recorded if uid not in local]
            if not entering and not leaving:
                continue
            try:
                await change_presence(room.hub.storage, room.name, lease, entering, leaving)
            except StorageError as exc:
                log.warning("room_presence_failed", room=room.name, error=str(exc))
                self._wake.set()
                await trio.sleep(backoff)
                backoff = min(backoff * 2, PRESENCE_RETRY_MAX)
                continue
            backoff = 0.05
            self.recorded.update(e.user_id for e in entering)
            self.recorded.difference_update(leaving)


class EphemeralOutbox:
    """Typing and presence events on their way to the other nodes."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self._send, self._receive = trio.open_memory_channel[dict[str, Any]](EPHEMERAL_BUFFER)

    def publish(self, event: dict[str, Any]) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self.room.hub.metrics.dropped_ephemeral += 1

    async def run(self) -> None:
        room = self.room
        async for event in self._receive:
            batch = [event]
            while len(batch) < EPHEMERAL_BATCH:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                await publish_ephemeral(room.hub.storage, room.name, room.hub.origin, batch)
            except StorageError as exc:
                room.hub.metrics.dropped_ephemeral += len(batch)
                log.debug("room_ephemeral_unpublished", room=room.name, error=str(exc))
