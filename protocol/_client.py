"""Client -> server message kinds."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, TypeAlias

from . import _validation as v
from ._constants import (
    MAX_CHAT_LENGTH,
    MAX_CLIENT_ID_LENGTH,
    MAX_TOKEN_LENGTH,
    PRESENCE_STATUSES,
)
from ._messages import Message, MessageId, register

_registry: dict[str, type[Message]] = {}
_client = register(_registry)

_Room = Annotated[str, v.room]
_OptId = Annotated[MessageId | None, v.message_id]


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class Join(Message):
    """Subscribe to *room*; ``since`` is the last sequence number the client has seen."""

    TYPE: ClassVar[str] = "join"
    room: _Room
    since: Annotated[int | None, v.integer(0)] = None
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class Leave(Message):
    TYPE: ClassVar[str] = "leave"
    room: _Room
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChat(Message):
    """Post a chat message; ``client_id`` makes the post idempotent."""

    TYPE: ClassVar[str] = "chat"
    room: _Room
    body: Annotated[str, v.string(1, MAX_CHAT_LENGTH, not_blank=True)]
    client_id: Annotated[str, v.string(1, MAX_CLIENT_ID_LENGTH)]
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class ClientTyping(Message):
    TYPE: ClassVar[str] = "typing"
    room: _Room
    typing: Annotated[bool, v.boolean]
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class ClientPresence(Message):
    TYPE: ClassVar[str] = "presence"
    status: Annotated[str, v.one_of(PRESENCE_STATUSES)]
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class PitchUpdate(Message):
    """Change pitch fields; ``version`` is the pitch version the edit is based on."""

    TYPE: ClassVar[str] = "pitch_update"
    room: Annotated[str, v.pitch_room]
    version: Annotated[int, v.integer(1)]
    fields: Annotated[dict[str, Any], v.pitch_fields(allow_empty=False)]
    id: _OptId = None


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class Auth(Message):
    """Present a fresh access token to extend the connection's authentication."""

    TYPE: ClassVar[str] = "auth"
    token: Annotated[str, v.string(1, MAX_TOKEN_LENGTH)]
    id: _OptId = None

    def __repr__(self) -> str:  # never leak tokens into logs
        return f"Auth(token=<{len(self.token)} chars>, id={self.id!r})"


@_client
@dataclass(frozen=True, slots=True, kw_only=True)
class Ping(Message):
    TYPE: ClassVar[str] = "ping"
    id: _OptId = None


ClientMessage: TypeAlias = (
    Join | Leave | ClientChat | ClientTyping | ClientPresence | PitchUpdate | Auth | Ping
)
"""Any message a client may send."""

CLIENT_MESSAGES: MappingProxyType[str, type[Message]] = MappingProxyType(_registry)
"""Wire ``type`` -> class for client messages."""
