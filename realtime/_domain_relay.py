"""From the HTTP side to the sockets: domain events relayed to this node's sessions.

Every node subscribes to the deployment's domain events (``storage.open_domain_events``)
and acts on the part that concerns its own connections:

- ``notification`` → ``notification`` to every connection of that user, unless the event
  says ``muted`` (the user muted that kind; decided when the row was inserted). The check
  is here because every live push passes through here, whoever published the event.
  A ``new_message`` notification skips connections joined to that conversation's room:
  they have the message itself (the row is still stored and listed over HTTP);
- ``nda_changed`` → ``nda_status`` to both parties' connections; when an NDA is revoked or
  expires, the requester is removed from that pitch room here with
  ``kicked {reason: "nda_revoked" | "nda_expired"}`` (each node kicks its own members).
"""

from __future__ import annotations

from typing import Any

import structlog
import trio

from protocol import NdaStatus, Notification, conversation_room, encode, pitch_room
from storage import DomainEvent, Storage, open_domain_events

from . import _room
from ._actor import ActorStopped, MailboxFull
from ._hub import Hub

log = structlog.get_logger("realtime.relay")

KICK_REASONS = {"revoked": "nda_revoked", "expired": "nda_expired"}


async def relay_domain_events(
    storage: Storage, hub: Hub, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Relay until cancelled; started once the subscription is in place."""
    async with open_domain_events(storage) as events:
        task_status.started()
        async for event in events:
            try:
                relay(hub, event)
            except Exception:  # one bad event must not stop the relay
                log.exception("domain_event_relay_failed", kind=event.kind)


def relay(hub: Hub, event: DomainEvent) -> None:
    data = event.data
    if event.kind == "notification":
        if data.get("muted"):
            return  # a kind the user muted: stored, listed over HTTP, never pushed
        notice = data["notification"]
        conversation = (notice.get("data") or {}).get("conversationId")
        in_room = (
            conversation_room(int(conversation))
            if notice["kind"] == "new_message" and conversation is not None
            else None
        )
        _to_user(hub, int(data["userId"]), notification_message(notice), unless_in=in_room)
    elif event.kind == "nda_changed":
        status = NdaStatus(
            pitch_id=int(data["pitchId"]), nda_id=int(data["ndaId"]), status=data["status"]
        )
        _to_user(hub, int(data["requesterId"]), status)
        _to_user(hub, int(data["ownerId"]), status)
        reason = KICK_REASONS.get(data["status"])
        if reason is not None:
            _kick(hub, pitch_room(int(data["pitchId"])), int(data["requesterId"]), reason)


def notification_message(n: dict[str, Any]) -> Notification:
    """The ``notification`` message for a notification as events carry it."""
    return Notification(
        id=n["id"],
        kind=n["kind"],
        title=n["title"],
        body=n.get("body", ""),
        data=n.get("data") or {},
        created_at=int(n["createdAt"]),
    )


def _to_user(hub: Hub, user_id: int, message: Any, *, unless_in: str | None = None) -> None:
    frames: dict[Any, bytes | str] = {}
    for session in hub.sessions.get(user_id, ()):
        if unless_in is not None and unless_in in session.rooms:
            continue
        data = frames.get(session.codec)
        if data is None:
            data = frames[session.codec] = encode(message, session.codec)
        session.send(data)


def _kick(hub: Hub, room: str, user_id: int, reason: str) -> None:
    actor = hub.rooms.get(room)
    if actor is None:
        return
    try:
        actor.mailbox.ref.tell(_room.Kick(user_id, reason))
    except (MailboxFull, ActorStopped):
        log.warning("kick_undelivered", room=room, user=user_id)
