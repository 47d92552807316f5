"""Server -> client message kinds."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, TypeAlias

from . import _validation as v
from ._codes import ErrorCode
from ._constants import (
    HEARTBEAT_INTERVAL_MS,
    MAX_CHAT_LENGTH,
    MAX_CLIENT_ID_LENGTH,
    NDA_STATUSES,
    PROTOCOL_VERSION,
    SERVER_PRESENCE_STATUSES,
)
from ._messages import Message, MessageId, register

_registry: dict[str, type[Message]] = {}
_server = register(_registry)

# Maps below are wire-shaped (camelCase keys) and are sent as they are.
_Room = Annotated[str, v.room]
_PitchRoom = Annotated[str, v.pitch_room]
_Seq = Annotated[int, v.integer(1)]
_Ident = Annotated[int | str, v.ident]
_Millis = Annotated[int, v.integer(0)]
_Text = Annotated[str, v.string(0, 4096)]
_Reason = Annotated[str, v.string(1, 256)]
_User = Annotated[dict[str, Any], v.user]
_Map = Annotated[dict[str, Any], v.mapping]
_ClientId = Annotated[str, v.string(1, MAX_CLIENT_ID_LENGTH)]
_OptId = Annotated[MessageId | None, v.message_id]


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome(Message):
    """First message on every connection."""

    TYPE: ClassVar[str] = "welcome"
    connection_id: Annotated[str, v.string(1, 128)]
    user: _User
    node: Annotated[str, v.string(1, 128)]
    server_time: _Millis
    heartbeat_ms: Annotated[int, v.integer(1)] = HEARTBEAT_INTERVAL_MS
    protocol_version: Annotated[int, v.integer(1)] = PROTOCOL_VERSION


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Joined(Message):
    """Reply to ``join``: room snapshot; ``seq`` is the room's latest sequence number."""

    TYPE: ClassVar[str] = "joined"
    room: _Room
    seq: Annotated[int, v.integer(0)]
    members: Annotated[tuple[dict[str, Any], ...], v.members]
    presence: Annotated[dict[str, str], v.presence_map(SERVER_PRESENCE_STATUSES)]
    history: Annotated[tuple[dict[str, Any], ...], v.history]
    pitch: Annotated[dict[str, Any] | None, v.mapping] = None


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Message):
    TYPE: ClassVar[str] = "member_joined"
    room: _Room
    seq: _Seq
    user: _User


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Message):
    TYPE: ClassVar[str] = "member_left"
    room: _Room
    seq: _Seq
    user_id: _Ident


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerChat(Message):
    """A durable chat message; ``user`` optionally carries the author's profile."""

    TYPE: ClassVar[str] = "chat"
    room: _Room
    seq: _Seq
    message_id: _Ident
    user_id: _Ident
    body: Annotated[str, v.string(1, MAX_CHAT_LENGTH)]
    client_id: _ClientId
    created_at: _Millis
    user: Annotated[dict[str, Any] | None, v.user] = None


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerTyping(Message):
    TYPE: ClassVar[str] = "typing"
    room: _Room
    user_id: _Ident
    typing: Annotated[bool, v.boolean]


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPresence(Message):
    TYPE: ClassVar[str] = "presence"
    user_id: _Ident
    status: Annotated[str, v.one_of(SERVER_PRESENCE_STATUSES)]
    room: Annotated[str | None, v.room] = None


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class PitchUpdated(Message):
    """A durable pitch edit; ``version`` is the pitch's new version."""

    TYPE: ClassVar[str] = "pitch_updated"
    room: _PitchRoom
    seq: _Seq
    version: Annotated[int, v.integer(1)]
    fields: Annotated[dict[str, Any], v.pitch_fields(allow_empty=False)]
    user_id: _Ident


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Ack(Message):
    TYPE: ClassVar[str] = "ack"
    id: _OptId = None
    seq: Annotated[int | None, v.integer(1)] = None
    client_id: Annotated[str | None, v.string(1, MAX_CLIENT_ID_LENGTH)] = None


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict(Message):
    """``pitch_update`` refused: ``version``/``fields`` are the current server state."""

    TYPE: ClassVar[str] = "conflict"
    id: _OptId = None
    room: _PitchRoom
    version: Annotated[int, v.integer(1)]
    fields: Annotated[dict[str, Any], v.pitch_fields(allow_empty=True)]


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Notification(Message):
    TYPE: ClassVar[str] = "notification"
    id: _Ident
    kind: Annotated[str, v.string(1, 64)]
    title: _Text
    body: _Text
    data: _Map
    created_at: _Millis


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Kicked(Message):
    TYPE: ClassVar[str] = "kicked"
    room: _Room
    reason: _Reason


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Resync(Message):
    TYPE: ClassVar[str] = "resync"
    room: _Room


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class AuthExpiring(Message):
    TYPE: ClassVar[str] = "auth_expiring"
    expires_at: _Millis


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class GoAway(Message):
    TYPE: ClassVar[str] = "goaway"
    reason: _Reason
    retry_after_ms: Annotated[int, v.integer(0)]


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorMessage(Message):
    TYPE: ClassVar[str] = "error"
    id: _OptId = None
    code: Annotated[ErrorCode, v.error_code]
    message: _Text


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class Pong(Message):
    TYPE: ClassVar[str] = "pong"
    id: _OptId = None


@_server
@dataclass(frozen=True, slots=True, kw_only=True)
class NdaStatus(Message):
    TYPE: ClassVar[str] = "nda_status"
    pitch_id: Annotated[int, v.integer(1)]
    nda_id: Annotated[int, v.integer(1)]
    status: Annotated[str, v.one_of(NDA_STATUSES)]


RoomEvent: TypeAlias = ServerChat | PitchUpdated | MemberJoined | MemberLeft
"""Durable room events: they carry ``seq`` and are replayed in ``joined.history``."""

ServerMessage: TypeAlias = (
    Welcome
    | Joined
    | MemberJoined
    | MemberLeft
    | ServerChat
    | ServerTyping
    | ServerPresence
    | PitchUpdated
    | Ack
    | Conflict
    | Notification
    | Kicked
    | Resync
    | AuthExpiring
    | GoAway
    | ErrorMessage
    | Pong
    | NdaStatus
)
"""Any message the server may send."""

SERVER_MESSAGES: MappingProxyType[str, type[Message]] = MappingProxyType(_registry)
"""Wire ``type`` -> class for server messages."""
