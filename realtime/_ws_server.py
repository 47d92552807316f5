"""The WebSocket listener: accepts sockets at ``/ws`` and drains them on shutdown.

Subprotocols are negotiated from ``protocol.SUBPROTOCOLS`` (msgpack preferred); a client
that proposes none gets msgpack. The per-connection behaviour lives in the handler passed
in; the listener owns accepting, the set of live connections and the drain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
import trio
from trio_websocket import WebSocketConnection, WebSocketRequest, serve_websocket

from protocol import MAX_FRAME_BYTES, SUBPROTOCOLS, CloseCode, Codec, codec_for_subprotocol

log = structlog.get_logger("realtime.ws")

WS_PATH = "/ws"
ConnectionHandler = Callable[[WebSocketConnection, Codec], Awaitable[None]]


class WebSocketServer:
    """Serve ``handler`` for every WebSocket opened at ``/ws`` on ``host:port``."""

    def __init__(self, handler: ConnectionHandler, *, host: str, port: int) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._connections: set[WebSocketConnection] = set()
        self._accepting = trio.CancelScope()
        self._nursery: trio.Nursery | None = None

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Accept connections until :meth:`drain`; reports the bound port when listening."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            server = await nursery.start(self._accept, nursery)
            self.port = server.port
            log.info("ws_listening", host=self.host, port=self.port, path=WS_PATH)
            task_status.started(self.port)

    async def _accept(
        self,
        handler_nursery: trio.Nursery,
        *,
        task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with self._accepting:
            await serve_websocket(
                self._handle,
                self.host,
                self.port,
                ssl_context=None,
                handler_nursery=handler_nursery,
                max_message_size=MAX_FRAME_BYTES,
                task_status=task_status,
            )

    async def drain(self, deadline: float) -> None:
        """Stop accepting, close every connection with 1001, wait at most ``deadline`` s."""
        self._accepting.cancel()
        connections = list(self._connections)
        log.info("ws_draining", connections=len(connections))
        with trio.move_on_after(deadline):
            async with trio.open_nursery() as nursery:
                for ws in connections:
                    nursery.start_soon(ws.aclose, CloseCode.GOING_AWAY, "server shutting down")
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _handle(self, request: WebSocketRequest) -> None:
        if urlsplit(request.path).path != WS_PATH:
            await request.reject(404, body=b"no WebSocket here; connect to /ws")
            return
        codec = _choose_codec(request.proposed_subprotocols)
        if codec is None:
            await request.reject(400, body=b"unsupported subprotocol")
            return
        subprotocol = codec.name if request.proposed_subprotocols else None
        ws = await request.accept(subprotocol=subprotocol)
        self._connections.add(ws)
        try:
            await self._handler(ws, codec)
        finally:
            self._connections.discard(ws)


def _choose_codec(proposed: tuple[str, ...]) -> Codec | None:
    if not proposed:
        return codec_for_subprotocol(SUBPROTOCOLS[0])
    for name in SUBPROTOCOLS:
        if name in proposed:
            return codec_for_subprotocol(name)
    return None
