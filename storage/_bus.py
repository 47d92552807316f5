"""The node's bus: one Redis pub/sub connection multiplexing every room it has members for.

Subscriptions follow local membership: a room actor subscribes its room when it starts and
unsubscribes when it stops. Published room events (see ``_room_log``) arrive in each room's
sequence order and are handed to the room's :class:`RoomListener` synchronously, in batches
that cross the trio/asyncio bridge once.

When the connection drops, the bus reports itself unhealthy, reconnects with backoff,
resubscribes every room, and calls ``resubscribed()`` on each listener so the room can fill
the gap from history. Delivery is at-most-once; the per-room sequence makes gaps visible.
Ephemeral events (typing, presence) arrive with sequence 0 (see ``_presence``).

Once ``run`` has ended the bus is closed: ``unsubscribe`` is a no-op (a room stopping
late in a shutdown) and ``subscribe`` raises :class:`StorageUnavailable`.
"""

from __future__ import annotations

from typing import Any, Protocol

import redis.exceptions
import structlog
import trio

from ._errors import StorageError, StorageUnavailable
from ._room_log import decode_published, room_channel
from ._service import Storage

log = structlog.get_logger("storage.bus")

BATCH = 256
POLL_SECONDS = 1.0
MAX_BACKOFF = 2.0


class RoomListener(Protocol):
    def deliver(self, seq: int, payload: bytes) -> None:
        """A published event of the room: its sequence and its msgpack bytes."""

    def resubscribed(self) -> None:
        """The bus was disconnected and is back: events may have been missed."""


class Bus:
    """Room fan-out across nodes over Redis pub/sub (one connection per node)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._listeners: dict[bytes, RoomListener] = {}
        self._pubsub: Any = None
        self._changed = trio.Event()
        self._closed = False
        self.healthy = False
        self.received = 0
        self.reconnects = 0

    @property
    def rooms(self) -> int:
        return len(self._listeners)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Pump messages until cancelled; reports started once the connection is open."""
        self._pubsub = self._storage.aio_redis.pubsub(ignore_subscribe_messages=True)
        try:
            self.healthy = True
            task_status.started()
            backoff = 0.05
            while True:
                if not self._listeners:
                    self._changed = trio.Event()
                    await self._changed.wait()
                    continue
                try:
                    batch = await self._storage.run_aio(_receive_batch, self._pubsub)
                except StorageError as exc:
                    self._mark_down(exc)
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    await self._reconnect()
                    continue
                backoff = 0.05
                self._dispatch(batch)
        finally:
            self.healthy = False
            self._closed = True
            pubsub, self._pubsub = self._pubsub, None
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    await self._storage.run_aio(pubsub.aclose)
                except StorageError as exc:
                    log.debug("bus_close_failed", error=str(exc))

    async def subscribe(self, room: str, listener: RoomListener) -> None:
        """Deliver ``room``'s published events to ``listener`` from now on."""
        if self._closed or self._pubsub is None:
            raise StorageUnavailable("redis", "the bus is not running")
        channel = room_channel(self._storage, room).encode()
        if channel in self._listeners:
            raise ValueError(f"room {room} already has a listener on this node")
        self._listeners[channel] = listener
        try:
            await self._storage.run_aio(self._pubsub.subscribe, channel)
        except StorageUnavailable as exc:
            # The pump reconnects and resubscribes every registered room.
            self._mark_down(exc)
        self._changed.set()

    async def unsubscribe(self, room: str) -> None:
        """Stop delivering ``room``'s events here; a no-op once the bus has stopped."""
        channel = room_channel(self._storage, room).encode()
        if self._listeners.pop(channel, None) is None or self._pubsub is None:
            return
        try:
            await self._storage.run_aio(self._pubsub.unsubscribe, channel)
        except StorageUnavailable as exc:
            self._mark_down(exc)

    def _dispatch(self, batch: list[tuple[bytes, bytes]]) -> None:
        self.received += len(batch)
        for channel, data in batch:
            listener = self._listeners.get(channel)
            if listener is None:
                continue  # unsubscribed while the message was in flight
            seq, payload = decode_published(data)
            listener.deliver(seq, payload)

    def _mark_down(self, exc: Exception) -> None:
        if self.healthy:
            log.warning("bus_disconnected", error=str(exc))
        self.healthy = False

    async def _reconnect(self) -> None:
        channels = list(self._listeners)
        try:
            await self._storage.run_aio(_resubscribe, self._pubsub, channels)
        except StorageError as exc:
            self._mark_down(exc)
            return
        self.healthy = True
        self.reconnects += 1
        log.info("bus_reconnected", rooms=len(channels))
        for channel in channels:
            listener = self._listeners.get(channel)
            if listener is not None:
                listener.resubscribed()


async def _receive_batch(pubsub: Any) -> list[tuple[bytes, bytes]]:
    """Wait for one message (up to POLL_SECONDS), then take what is already there."""
    if pubsub.connection is None:
        raise redis.exceptions.ConnectionError("pub/sub connection not open")
    batch: list[tuple[bytes, bytes]] = []
    message = await pubsub.get_message(timeout=POLL_SECONDS)
    while message is not None:
        if message["type"] == "message":
            batch.append((message["channel"], message["data"]))
        if len(batch) >= BATCH:
            break
        message = await pubsub.get_message(timeout=0.0)
    return batch


async def _resubscribe(pubsub: Any, channels: list[bytes]) -> None:
    await pubsub.aclose()  # drops the connection and the subscriptions; reusable after
    if channels:
        await pubsub.subscribe(*channels)
