"""Notifications (list with the unread count, mark read) and the WebSocket ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from quart import Blueprint, request
from quart_schema import tag_blueprint

from storage import (
    WS_TICKET_TTL,
    NotificationRecord,
    create_ws_ticket,
    list_notifications,
    mark_all_notifications_read,
    mark_notification_read,
)

from ._auth import current_user, request_is_secure
from ._context import deps
from ._errors import NotFound, Unavailable
from ._schema import MAX_LIMIT, MAX_PAGE, Ok, PageMeta, Schema, page_meta, query, responds

blueprint = Blueprint("notifications", __name__)
tag_blueprint(blueprint, ["notifications"])


class NotificationQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    unread: bool = False


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, record: NotificationRecord) -> NotificationOut:
        return cls(
            id=record.id,
            kind=record.kind,
            title=record.title,
            body=record.body,
            data=record.data,
            read_at=record.read_at,
            created_at=record.created_at,
        )


class NotificationMeta(PageMeta):
    unread_count: int


class NotificationsOut(Schema):
    success: Literal[True] = True
    data: list[NotificationOut]
    meta: NotificationMeta


class ReadAllOut(Schema):
    updated: int


class WsTokenOut(Schema):
    token: str
    expires_in: int
    ws_url: str


@blueprint.get("/api/notifications")
@query(NotificationQuery)
@responds(NotificationsOut)
async def notifications(query: NotificationQuery) -> NotificationsOut:
    """The caller's notifications, newest first; ``meta.unreadCount`` for the badge."""
    principal = await current_user()
    assert principal is not None
    page = await list_notifications(
        deps().storage, principal.user_id, page=query.page, limit=query.limit,
        unread_only=query.unread,
    )  # fmt: skip
    meta = page_meta(query.page, query.limit, page.total)
    return NotificationsOut(
        data=[NotificationOut.of(n) for n in page.items],
        meta=NotificationMeta(**meta.model_dump(), unread_count=page.unread),
    )


@blueprint.post("/api/notifications/<id:notification_id>/read")
@responds(Ok[NotificationOut])
async def read(notification_id: int) -> Ok[NotificationOut]:
    """Mark one notification read."""
    principal = await current_user()
    assert principal is not None
    record = await mark_notification_read(deps().storage, principal.user_id, notification_id)
    if record is None:
        raise NotFound("No such notification.")
    return Ok(data=NotificationOut.of(record))


@blueprint.post("/api/notifications/read-all")
@responds(Ok[ReadAllOut])
async def read_all() -> Ok[ReadAllOut]:
    """Mark every notification read."""
    principal = await current_user()
    assert principal is not None
    updated = await mark_all_notifications_read(deps().storage, principal.user_id)
    return Ok(data=ReadAllOut(updated=updated))


@blueprint.get("/api/ws/token")
@responds(Ok[WsTokenOut])
async def ws_token() -> Ok[WsTokenOut]:
    """A single-use ticket, valid 60 s, to pass as ``?ticket=`` when opening the socket."""
    principal = await current_user()
    assert principal is not None
    port = deps().ws_port
    if port is None:
        raise Unavailable("This node serves no WebSocket.", code="ws_unavailable")
    ticket = await create_ws_ticket(deps().storage, principal.user_id)
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    scheme = "wss" if request_is_secure() else "ws"
    url = f"{scheme}://{host}:{port()}/ws"
    return Ok(data=WsTokenOut(token=ticket, expires_in=WS_TICKET_TTL, ws_url=url))
