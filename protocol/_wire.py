"""Encoding messages to frames and decoding frames to validated messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ._client import CLIENT_MESSAGES, ClientMessage
from ._codec import Codec
from ._codes import CloseCode, ErrorCode
from ._constants import (
    MAX_FRAME_BYTES,
    MAX_NESTING_DEPTH,
    MAX_SERVER_FRAME_BYTES,
    MAX_SERVER_NESTING_DEPTH,
)
from ._errors import ProtocolError
from ._messages import Message, from_wire, to_wire
from ._server import SERVER_MESSAGES, ServerMessage
from ._validation import check_tree, is_message_id


def encode(message: ClientMessage | ServerMessage, codec: Codec) -> bytes | str:
    """Serialize *message* into one frame payload (``bytes`` if ``codec.binary``).

    Raises :class:`ProtocolError` (``internal``) if a free-form value (e.g. in
    ``notification.data``) cannot be represented by the codec.
    """
    wire = to_wire(message)
    try:
        return codec.dumps(wire)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(
            ErrorCode.INTERNAL, f"cannot encode {message.TYPE}: {str(exc)[:120]}"
        ) from None


def decode_client(data: bytes | str, codec: Codec) -> ClientMessage:
    """Decode and validate one frame a client sent.

    Returns the typed message or raises :class:`ProtocolError`; never anything else.
    The error's ``id`` is the frame's ``id`` whenever that could be read and is valid.
    """
    message = _decode(data, codec, CLIENT_MESSAGES, MAX_FRAME_BYTES, MAX_NESTING_DEPTH)
    return cast(ClientMessage, message)


def decode_server(data: bytes | str, codec: Codec) -> ServerMessage:
    """Decode and validate one frame the server sent (for clients and tests)."""
    message = _decode(
        data, codec, SERVER_MESSAGES, MAX_SERVER_FRAME_BYTES, MAX_SERVER_NESTING_DEPTH
    )
    return cast(ServerMessage, message)


def _frame_size(data: bytes | str, codec: Codec) -> int:
    if codec.binary:
        if not isinstance(data, bytes | bytearray):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"{codec.name} expects binary frames",
                close_code=CloseCode.UNSUPPORTED_DATA,
            )
        return len(data)
    if not isinstance(data, str):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"{codec.name} expects text frames",
            close_code=CloseCode.UNSUPPORTED_DATA,
        )
    return len(data.encode("utf-8", "surrogatepass"))


def _decode(
    data: bytes | str,
    codec: Codec,
    registry: Mapping[str, type[Message]],
    max_bytes: int,
    max_depth: int,
) -> Message:
    size = _frame_size(data, codec)
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"frame of {size} bytes exceeds {max_bytes}",
            close_code=CloseCode.TOO_LARGE,
        )
    obj = codec.loads(data, max_bytes=max_bytes)
    if type(obj) is not dict:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a frame must hold one map")
    wire = cast(dict[str, Any], obj)
    msg_id = wire.get("id")
    try:
        check_tree(wire, max_depth)
        return from_wire(wire, registry)
    except ProtocolError as exc:
        if exc.id is None and is_message_id(msg_id):
            exc.id = msg_id
        raise
