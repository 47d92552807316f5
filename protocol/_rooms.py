"""Room names: ``pitch:<id>`` and ``conversation:<id>``."""

from __future__ import annotations

import enum
import re

from ._codes import ErrorCode
from ._constants import MAX_SAFE_INTEGER
from ._errors import ProtocolError


class RoomKind(enum.StrEnum):
    PITCH = "pitch"
    CONVERSATION = "conversation"


# ASCII digits only (``\d`` would accept other Unicode digits); no leading zero.
_ROOM_RE = re.compile(r"(pitch|conversation):([1-9][0-9]{0,15})")


def parse_room(name: str) -> tuple[RoomKind, int]:
    """Split a room name into its kind and positive integer id.

    Raises :class:`ProtocolError` (``invalid_message``) if *name* is not a valid room.
    """
    match = _ROOM_RE.fullmatch(name) if type(name) is str else None
    if match is None or int(match.group(2)) > MAX_SAFE_INTEGER:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"invalid room name {_short(name)}")
    return RoomKind(match.group(1)), int(match.group(2))


def is_room(name: object) -> bool:
    """Whether *name* is a valid room name."""
    if type(name) is not str:
        return False
    match = _ROOM_RE.fullmatch(name)
    return match is not None and int(match.group(2)) <= MAX_SAFE_INTEGER


def _room_name(kind: RoomKind, ident: int) -> str:
    if type(ident) is not int or not 1 <= ident <= MAX_SAFE_INTEGER:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"invalid {kind.value} id {ident!r}")
    return f"{kind.value}:{ident}"


def pitch_room(pitch_id: int) -> str:
    """The room name of a pitch, e.g. ``pitch_room(42) == "pitch:42"``."""
    return _room_name(RoomKind.PITCH, pitch_id)


def conversation_room(conversation_id: int) -> str:
    """The room name of a conversation, e.g. ``"conversation:7"``."""
    return _room_name(RoomKind.CONVERSATION, conversation_id)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
