"""One-to-one conversations and their messages (participants only; 404 for anyone else).

Messages go through ``storage.append_conversation_message``, the same function the
realtime chat uses: a message posted here gets the room's next sequence number and reaches
the members of ``conversation:<id>`` on every node live, and the other participant gets a
``new_message`` notification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator
from quart import Blueprint
from quart_schema import tag_blueprint

from storage import (
    ConversationRecord,
    MessageRecord,
    append_conversation_message,
    get_pitch,
    list_conversations,
    list_messages,
    mark_conversation_read,
    open_conversation,
)

from ._auth import current_user
from ._context import deps
from ._errors import NotFound, Unprocessable
from ._events import publish_notifications
from ._schema import Ok, Paged, PageQuery, Schema, body, page_meta, query, responds

blueprint = Blueprint("conversations", __name__, url_prefix="/api/conversations")
tag_blueprint(blueprint, ["conversations"])

MAX_ID = 2**63 - 1


class OpenBody(Schema):
    """Who to talk to (``userId``) and/or about which pitch; with only ``pitchId`` the
    conversation is with the pitch's creator."""

    user_id: int | None = Field(None, ge=1, le=MAX_ID)
    pitch_id: int | None = Field(None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def needs_someone(self) -> OpenBody:
        if self.user_id is None and self.pitch_id is None:
            raise ValueError("give userId, pitchId or both")
        return self


class MessagesQuery(Schema):
    before: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=100)


class SendBody(Schema):
    body: str = Field(min_length=1, max_length=5000)
    client_id: str | None = Field(None, min_length=1, max_length=64)


class ReadBody(Schema):
    seq: int | None = Field(None, ge=0, le=MAX_ID)


class ParticipantOut(Schema):
    id: int
    username: str
    first_name: str | None
    last_name: str | None
    user_type: str


class ConversationOut(Schema):
    id: int
    pitch_id: int | None
    participants: list[ParticipantOut]
    last_seq: int
    last_message_at: datetime | None
    unread_count: int
    created_at: datetime

    @classmethod
    def of(cls, record: ConversationRecord, viewer_id: int) -> ConversationOut:
        read = next((p.last_read_seq for p in record.participants if p.id == viewer_id), 0)
        return cls(
            id=record.id,
            pitch_id=record.pitch_id,
            participants=[
                ParticipantOut(
                    id=p.id,
                    username=p.username,
                    first_name=p.first_name,
                    last_name=p.last_name,
                    user_type=p.user_type,
                )
                for p in record.participants
            ],
            last_seq=record.last_seq,
            last_message_at=record.last_message_at,
            unread_count=max(0, record.last_seq - read),
            created_at=record.created_at,
        )


class MessageOut(Schema):
    id: int
    conversation_id: int
    room: str
    seq: int
    sender_id: int
    body: str
    client_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: MessageRecord, conversation_id: int) -> MessageOut:
        return cls(
            id=message.id,
            conversation_id=conversation_id,
            room=message.room,
            seq=message.seq,
            sender_id=message.sender_id,
            body=message.body,
            client_id=message.client_id,
            created_at=message.created_at,
        )


class MessagesOut(Schema):
    success: Literal[True] = True
    data: list[MessageOut]
    meta: dict[str, int | bool | None]


class ReadOut(Schema):
    last_read_seq: int


@blueprint.get("")
@query(PageQuery)
@responds(Paged[ConversationOut])
async def conversations(query: PageQuery) -> Paged[ConversationOut]:
    """The caller's conversations, most recently active first."""
    principal = await current_user()
    assert principal is not None
    records, total = await list_conversations(
        deps().storage, principal.user_id, page=query.page, limit=query.limit
    )
    items = [ConversationOut.of(r, principal.user_id) for r in records]
    return Paged(data=items, meta=page_meta(query.page, query.limit, total))


@blueprint.post("")
@body(OpenBody)
@responds(Ok[ConversationOut], 200)
@responds(Ok[ConversationOut], 201)
async def open_with(data: OpenBody) -> tuple[Ok[ConversationOut], int]:
    """Find or create the 1:1 conversation with a user (201 when created)."""
    principal = await current_user()
    assert principal is not None
    storage = deps().storage
    other_id = data.user_id
    if data.pitch_id is not None:
        found = await get_pitch(storage, data.pitch_id, principal.user_id)
        if found is None or (found[0].status != "published" and not found[1].can_edit):
            raise NotFound("No such pitch.")
        other_id = other_id or found[0].owner.id
    assert other_id is not None
    if other_id == principal.user_id:
        raise Unprocessable(
            "You cannot start a conversation with yourself.", code="self_conversation"
        )
    opened = await open_conversation(storage, principal.user_id, other_id, data.pitch_id)
    if opened is None:
        raise NotFound("No such user.", code="user_not_found")
    out = ConversationOut.of(opened.conversation, principal.user_id)
    return Ok(data=out), 201 if opened.created else 200


@blueprint.get("/<id:conversation_id>/messages")
@query(MessagesQuery)
@responds(MessagesOut)
async def messages(conversation_id: int, query: MessagesQuery) -> MessagesOut:
    """Messages oldest first: the latest ``limit``, or those before seq ``before``."""
    principal = await current_user()
    assert principal is not None
    found = await list_messages(
        deps().storage, conversation_id, principal.user_id, before=query.before, limit=query.limit
    )
    if found is None:
        raise NotFound("No such conversation.")
    items = [MessageOut.of(m, conversation_id) for m in found]
    meta: dict[str, int | bool | None] = {
        "limit": query.limit,
        "before": query.before,
        "hasMore": bool(found) and found[0].seq > 1 and len(found) == query.limit,
    }
    return MessagesOut(data=items, meta=meta)


@blueprint.post("/<id:conversation_id>/messages")
@body(SendBody)
@responds(Ok[MessageOut], 200)
@responds(Ok[MessageOut], 201)
async def send(conversation_id: int, data: SendBody) -> tuple[Ok[MessageOut], int]:
    """Send a message (201); repeating a ``clientId`` returns the original (200)."""
    principal = await current_user()
    assert principal is not None
    appended = await append_conversation_message(
        deps().storage, conversation_id, principal.user_id, data.body, data.client_id
    )
    if appended is None:
        raise NotFound("No such conversation.")
    if appended.created:
        await publish_notifications(appended.notifications)
    out = MessageOut.of(appended.message, conversation_id)
    return Ok(data=out), 201 if appended.created else 200


@blueprint.post("/<id:conversation_id>/read")
@body(ReadBody, optional=True)
@responds(Ok[ReadOut])
async def read(conversation_id: int, data: ReadBody) -> Ok[ReadOut]:
    """Mark messages read up to ``seq`` (default: all of them)."""
    principal = await current_user()
    assert principal is not None
    marker = await mark_conversation_read(
        deps().storage, conversation_id, principal.user_id, data.seq
    )
    if marker is None:
        raise NotFound("No such conversation.")
    return Ok(data=ReadOut(last_read_seq=marker))
