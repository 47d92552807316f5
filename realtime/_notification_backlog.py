"""What a (re)connecting client missed: its unread notifications, right after ``welcome``.

Live notifications reach only open connections (Redis pub/sub), so a client that was away
finds the rest here: the user's unread notifications of kinds not muted, newest first, at
most ``BACKLOG_LIMIT``, each sent as an ordinary ``notification`` message. A notification
created while this query runs may arrive twice (live and here); clients key them by ``id``.
Older or read ones are in ``GET /api/notifications``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from storage import StorageError, unread_notifications

from ._domain_relay import notification_message

if TYPE_CHECKING:
    from ._session import Session

log = structlog.get_logger("realtime.session")

BACKLOG_LIMIT = 20


async def send_missed_notifications(session: Session) -> None:
    """Send the session its unread notifications (one query; a failure is only logged)."""
    try:
        missed = await unread_notifications(
            session.hub.storage, session.user_id, limit=BACKLOG_LIMIT
        )
    except StorageError as exc:
        log.warning("notification_backlog_failed", error=str(exc))
        return
    for n in missed:
        session.reply(notification_message(n.event_data()["notification"]))
