"""What a node says on an accepted socket.

For now a connection answers ``ping`` with ``pong`` and every other valid message with an
``unavailable`` error; the session actor (rooms, chat, presence) replaces this. Bad frames
get their ``error`` reply and the socket stays open unless the violation is fatal.
"""

from __future__ import annotations

import structlog
from trio_websocket import ConnectionClosed, WebSocketConnection

from protocol import (
    Codec,
    ErrorCode,
    ErrorMessage,
    Ping,
    Pong,
    ProtocolError,
    decode_client,
    encode,
)

log = structlog.get_logger("realtime.session")


async def serve_connection(ws: WebSocketConnection, codec: Codec, *, node_id: str) -> None:
    """Serve one socket until the peer or the drain closes it."""
    log.debug("ws_connected", remote=str(ws.remote), subprotocol=codec.name, node=node_id)
    try:
        while True:
            frame = await ws.get_message()
            try:
                message = decode_client(frame, codec)
            except ProtocolError as exc:
                await ws.send_message(encode(exc.to_message(), codec))
                if exc.close_code is not None:
                    await ws.aclose(exc.close_code, exc.message[:120])
                    return
                continue
            if isinstance(message, Ping):
                reply = Pong(id=message.id)
            else:
                reply = ErrorMessage(
                    id=getattr(message, "id", None),
                    code=ErrorCode.UNAVAILABLE,
                    message=f"{type(message).TYPE} is not served by this node yet",
                )
            await ws.send_message(encode(reply, codec))
    except ConnectionClosed:
        pass
    finally:
        log.debug("ws_disconnected", remote=str(ws.remote))
