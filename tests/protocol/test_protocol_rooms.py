"""Room name helpers."""

from __future__ import annotations

import pytest

from protocol import (
    MAX_SAFE_INTEGER,
    ErrorCode,
    ProtocolError,
    RoomKind,
    conversation_room,
    is_room,
    parse_room,
    pitch_room,
)


def test_pitch_room_formats_name() -> None:
    assert pitch_room(42) == "pitch:42"


def test_conversation_room_formats_name() -> None:
    assert conversation_room(7) == "conversation:7"


def test_parse_room_returns_kind_and_id() -> None:
    assert parse_room("conversation:7") == (RoomKind.CONVERSATION, 7)


def test_parse_room_accepts_largest_safe_id() -> None:
    assert parse_room(f"pitch:{MAX_SAFE_INTEGER}") == (RoomKind.PITCH, MAX_SAFE_INTEGER)


def test_parse_room_rejects_id_beyond_safe_range() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_room(f"pitch:{MAX_SAFE_INTEGER + 1}")
    assert info.value.code is ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("name", ["pitch:0", "pitch:007", "room:1", "pitch:1\n", 3], ids=repr)
def test_is_room_rejects_invalid_names(name: object) -> None:
    assert not is_room(name)


@pytest.mark.parametrize("ident", [0, -1, True, "3"], ids=repr)
def test_room_builders_reject_invalid_ids(ident: object) -> None:
    with pytest.raises(ProtocolError):
        pitch_room(ident)  # type: ignore[arg-type]
