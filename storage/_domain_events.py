"""Domain events: what the HTTP side tells every node after a transaction commits.

A handler that changes something a room shows (a pitch edited, an NDA approved, a
notification created) publishes one event after its commit; every node's subscriber
receives it and hands it to the actors concerned. Events travel as msgpack maps
``{"kind": str, "data": map}`` on one Redis channel per deployment. Delivery is
at-most-once (Redis pub/sub): anything a client must not miss is also in PostgreSQL.

Kinds in use (``data`` fields, camelCase):
- ``pitch_updated``: pitchId, version, fields (changed field → new value), userId
- ``pitch_status``: pitchId, status (published / archived / draft / deleted)
- ``nda_changed``: ndaId, pitchId, requesterId, ownerId, status
- ``notification``: userId, notification (id, kind, title, body, data, createdAt)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgpack
import structlog
import trio

from ._errors import StorageUnavailable
from ._service import Storage

log = structlog.get_logger("storage.domain_events")

CHANNEL = "domain-events"
RECEIVE_BUFFER = 1024


@dataclass(frozen=True, slots=True)
class DomainEvent:
    kind: str
    data: dict[str, Any]


async def publish_domain_event(storage: Storage, kind: str, data: dict[str, Any]) -> int:
    """Publish to every node; returns how many nodes' subscribers received it."""
    (received,) = await publish_domain_events(storage, [(kind, data)])
    return received


async def publish_domain_events(
    storage: Storage, events: Sequence[tuple[str, dict[str, Any]]]
) -> list[int]:
    """Publish ``(kind, data)`` events in order, in one round trip (a pipeline); for each,
    how many nodes' subscribers received it."""
    if not events:
        return []
    channel = storage.key(CHANNEL)
    payloads = [msgpack.packb({"kind": k, "data": d}, use_bin_type=True) for k, d in events]

    async def publish(client: Any) -> list[int]:
        async with client.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.publish(channel, payload)
            return await pipe.execute()

    return await storage.redis(publish)


@asynccontextmanager
async def open_domain_events(storage: Storage) -> AsyncIterator[trio.MemoryReceiveChannel]:
    """Subscribe to the deployment's domain events for as long as the block runs.

    Yields a receive channel of :class:`DomainEvent`. The subscription is established
    before the block starts, so nothing published after entry is missed while connected.
    If the buffer of ``RECEIVE_BUFFER`` events fills (a consumer far behind), further events
    are dropped and logged rather than blocking the node's one Redis connection.
    """
    pubsub = await storage.redis(lambda client: _subscribe(client, storage.key(CHANNEL)))
    send, receive = trio.open_memory_channel[DomainEvent](RECEIVE_BUFFER)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, storage, pubsub, send)
            try:
                yield receive
            finally:
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await storage.run_aio(pubsub.aclose)


async def _subscribe(client: Any, channel: str) -> Any:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    return pubsub


async def _pump(storage: Storage, pubsub: Any, send: trio.MemorySendChannel) -> None:
    async with send:
        while True:
            try:
                message = await storage.run_aio(pubsub.get_message, timeout=1.0)
            except StorageUnavailable as exc:
                log.warning("domain_events_disconnected", error=str(exc))
                await trio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                body = msgpack.unpackb(message["data"], raw=False)
                event = DomainEvent(str(body["kind"]), dict(body["data"]))
            except (ValueError, KeyError, TypeError, msgpack.UnpackException):
                log.warning("domain_event_malformed")
                continue
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                log.warning("domain_event_dropped", kind=event.kind, reason="consumer behind")
