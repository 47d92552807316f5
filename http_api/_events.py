"""Domain events published after a transaction commits.

The change is already durable when these run, so a publish failure must not turn it into
an error response: it is logged and the request goes on (clients that missed the live
event still find the change in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from storage import NotificationRecord, StorageError, append_event, publish_domain_events

from ._context import deps

log = structlog.get_logger("http_api.events")


async def publish(kind: str, data: dict[str, Any]) -> None:
    await publish_all([(kind, data)])


async def publish_all(events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Publish ``(kind, data)`` events in order, in one round trip to Redis."""
    try:
        await publish_domain_events(deps().storage, events)
    except StorageError as exc:
        log.warning("domain_events_not_published", kinds=[k for k, _ in events], error=str(exc))


async def publish_notifications(notifications: Iterable[NotificationRecord]) -> None:
    await publish_all([("notification", n.event_data()) for n in notifications])


async def append_room_event(room: str, event: dict[str, Any]) -> None:
    """Append a durable event to a room's log: every node's members of ``room`` get it."""
    try:
        await append_event(deps().storage, room, event)
    except StorageError as exc:
        log.warning("room_event_not_published", room=room, type=event["type"], error=str(exc))
