"""The WebSocket listener: accepts sockets at ``/ws`` and drains them on shutdown.

Admission (path, subprotocol, credentials, Origin) is decided before the upgrade by the
``admit`` callable, so a refused client gets a plain HTTP status and never a socket. The
per-connection behaviour lives in ``handler``; the listener owns accepting, the set of
live connections, the nursery their writer tasks run in while they have bytes queued, the
timers every connection shares (heartbeats, expiry, close timeouts) and the drain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
import trio

from protocol import MAX_FRAME_BYTES, CloseCode

from ._timers import Timers
from ._ws_transport import Decide, WsConnection, accept_websocket

log = structlog.get_logger("realtime.ws")

WS_PATH = "/ws"
ConnectionHandler = Callable[[WsConnection], Awaitable[None]]


class WebSocketServer:
    """Serve ``handler`` for every WebSocket that ``admit`` accepts on ``host:port``."""

    def __init__(self, admit: Decide, handler: ConnectionHandler, *, host: str, port: int) -> None:
        self._admit = admit
        self._handler = handler
        self.host = host
        self.port = port
        self._connections: set[WsConnection] = set()
        self._all_gone = trio.Event()
        self._accepting = trio.CancelScope()
        self._nursery: trio.Nursery | None = None
        self.timers = Timers()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Accept connections until :meth:`drain`; reports the bound port when listening."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.timers.run)
            log.info("ws_listening", host=self.host, port=self.port, path=WS_PATH)
            task_status.started(self.port)
            with self._accepting:
                await trio.serve_listeners(self._serve_stream, listeners, handler_nursery=nursery)

    def stop_accepting(self) -> None:
        """Close the listening sockets; connections already open carry on."""
        self._accepting.cancel()

    async def wait_all_gone(self) -> None:
        """Return once no connection is open (bound it with a timeout)."""
        while self._connections:
            self._all_gone = trio.Event()
            await self._all_gone.wait()

    async def drain(self, deadline: float) -> None:
        """Stop accepting, close every connection with 1001, wait at most ``deadline`` s."""
        self._accepting.cancel()
        log.info("ws_draining", connections=len(self._connections))
        for conn in list(self._connections):
            conn.close(CloseCode.GOING_AWAY, "server shutting down")
        if self._connections:
            self._all_gone = trio.Event()
            with trio.move_on_after(deadline):
                await self._all_gone.wait()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _serve_stream(self, stream: trio.SocketStream) -> None:
        assert self._nursery is not None
        conn = await accept_websocket(
            stream,
            self._admit,
            max_message=MAX_FRAME_BYTES,
            background=self._nursery,
            timers=self.timers,
        )
        if conn is None:
            await stream.aclose()
            return
        self._connections.add(conn)
        try:
            try:
                await self._handler(conn)
            finally:
                conn.close(CloseCode.NORMAL)
                await conn.aclose()
        finally:
            self._connections.discard(conn)
            if not self._connections:
                self._all_gone.set()
