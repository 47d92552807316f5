"""Server-side WebSocket connections on trio streams, speaking the protocol with wsproto.

Why not trio-websocket's server: room fan-out sends one pre-built frame to a thousand
members, and the cost per delivery is dominated by how a frame reaches the socket. Here a
frame is built once per broadcast (server frames are unmasked, so every member gets the
same bytes) and written with a non-blocking ``os.write`` on the socket; only when the
kernel buffer is full does the connection queue bytes for its writer task. Reading, the
handshake and control frames go through wsproto, the library trio-websocket itself uses.

Outbound queue policy (per connection): ephemeral frames (typing, presence) are sent only
when nothing is queued, otherwise dropped and counted; durable frames queue up to
``MAX_QUEUED_BYTES``, beyond which the client is closed with 4008 (slow consumer) and
recovers with ``join since``.

An idle connection holds no task of its own besides its reader: the writer task is started
(in the listener's nursery) only while bytes are queued, and the close timeout is a timer
on the node's shared :class:`~realtime._timers.Timers`. A close the server starts that the
peer does not answer within ``CLOSE_TIMEOUT`` closes the socket, which ends the reader.
"""

from __future__ import annotations

import contextlib
import enum
import os
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
import trio
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ._timers import Timer, Timers

log = structlog.get_logger("realtime.ws")

RECEIVE_BYTES = 64 * 1024
MAX_QUEUED_BYTES = 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
SLOW_CONSUMER = 4008
MESSAGE_TOO_BIG = 1009


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class ConnectionClosed(Exception):
    """The WebSocket is closed; ``code`` and ``reason`` say how."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}".strip())
        self.code = code
        self.reason = reason


class MessageTooBig(Exception):
    """A client message larger than the connection's limit."""


@dataclass(frozen=True, slots=True)
class Handshake:
    """The upgrade request, for the node to decide on before accepting."""

    path: str
    query: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    subprotocols: tuple[str, ...]
    remote: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Refuse the upgrade with this HTTP status and plain-text body."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Admission:
    """Accept the upgrade with ``subprotocol``; ``context`` travels with the connection."""

    subprotocol: str | None
    context: object = None


def frame(payload: bytes | str) -> bytes:
    """One complete, unmasked server frame: binary for bytes, text for str."""
    if isinstance(payload, str):
        data, opcode = payload.encode(), 0x81
    else:
        data, opcode = payload, 0x82
    n = len(data)
    if n < 126:
        return bytes((opcode, n)) + data
    if n < 65536:
        return struct.pack("!BBH", opcode, 126, n) + data
    return struct.pack("!BBQ", opcode, 127, n) + data


class WsConnection:
    """One accepted WebSocket. Not shared between tasks except through its methods."""

    __slots__ = (
        "_closed",
        "_closing_timer",
        "_fd",
        "_part_bytes",
        "_parts",
        "_pending",
        "_queue",
        "_queued",
        "_stream",
        "_writing",
        "_ws",
        "background",
        "close_code",
        "close_reason",
        "context",
        "dropped",
        "last_pong",
        "max_message",
        "remote",
        "state",
        "subprotocol",
        "timers",
    )

    def __init__(
        self,
        stream: trio.SocketStream,
        ws: Connection,
        handshake: Handshake,
        subprotocol: str | None,
        *,
        max_message: int,
        background: trio.Nursery,
        timers: Timers,
        context: object = None,
    ) -> None:
        self.context = context
        self.background = background  # short tasks of this connection (the writer) run here
        self.timers = timers
        self._stream = stream
        self._fd = stream.socket.fileno()
        self._ws = ws
        self.remote = handshake.remote  # the rest of the request is not kept
        self.subprotocol = subprotocol
        self.max_message = max_message
        self.state = State.OPEN
        self.close_code: int | None = None
        self.close_reason = ""
        self._queue: deque[bytes | memoryview] | None = None  # made when first needed
        self._queued = 0
        self._writing = False
        self._closed: trio.Event | None = None
        self._closing_timer: Timer | None = None
        self._pending: list[bytes | str] = []
        self._parts: list[bytes | str] = []
        self._part_bytes = 0
        self.dropped = 0
        self.last_pong = trio.current_time()

    # -- writing --------------------------------------------------------------------------

    def send_frame(self, data: bytes, *, durable: bool = True) -> bool:
        """Send a pre-built frame without waiting. Returns False when it was not sent:
        an ephemeral frame dropped, or the connection closing (a durable overflow closes
        the connection with 4008)."""
        if self.state is not State.OPEN:
            return False
        if self._queue:
            if not durable:
                self.dropped += 1
                return False
            return self._enqueue(data, True)
        # The fan-out hot path: ``_write`` inlined. Measured at 1000 members, the call cost
        # showed: product/floor CPU per delivery 0.24 inlined against 0.36-0.38 without.
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        except OSError:
            self._abort()
            return False
        if written < len(data):
            return self._enqueue(memoryview(data)[written:], True)
        return True

    def send_message(self, payload: bytes | str, *, durable: bool = True) -> bool:
        return self.send_frame(frame(payload), durable=durable)

    def _send_control(self, data: bytes) -> None:
        """Control frames (pong, ping, close) keep their place and ignore the queue limit."""
        self._write(data, limited=False)

    def _write(self, data: bytes, *, limited: bool) -> bool:
        """Write now if nothing is queued and the kernel takes it; queue the rest."""
        if self._queue:
            return self._enqueue(data, limited)
        if self.state is State.CLOSED:
            return False
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        except OSError:
            self._abort()
            return False
        if written < len(data):
            return self._enqueue(memoryview(data)[written:], limited)
        return True

    def _enqueue(self, data: bytes | memoryview, limited: bool) -> bool:
        if limited and self._queued + len(data) > MAX_QUEUED_BYTES:
            log.warning("ws_slow_consumer", remote=self.remote, queued=self._queued)
            self.close(SLOW_CONSUMER, "slow consumer")
            return False
        if self._queue is None:
            self._queue = deque()
        self._queue.append(data)
        self._queued += len(data)
        if not self._writing:
            self._writing = True
            self.background.start_soon(self._run_writer)
        return True

    async def _run_writer(self) -> None:
        """Write what the fast path could not; ends when the queue is empty."""
        queue = self._queue
        assert queue is not None
        try:
            while queue:
                chunk = queue[0]
                try:
                    await self._stream.send_all(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self._abort()
                    return
                if queue:  # _abort may have cleared it meanwhile
                    queue.popleft()
                    self._queued -= len(chunk)
        finally:
            self._writing = False

    def ping(self, payload: bytes = b"hb") -> None:
        if self.state is State.OPEN:
            self._send_control(self._ws.send(Ping(payload=payload)))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (idempotent). A peer that does not answer within
        ``CLOSE_TIMEOUT`` has its socket closed, which ends :meth:`receive`."""
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self.close_code, self.close_reason = code, reason
        with contextlib.suppress(LocalProtocolError):
            self._send_control(self._ws.send(CloseConnection(code=code, reason=reason[:120])))
        self._closing_timer = self.timers.call_after(CLOSE_TIMEOUT, self._close_unanswered)

    def _close_unanswered(self) -> None:
        if self.state is State.CLOSING:
            log.info("ws_close_unanswered", remote=self.remote, code=self.close_code)
            self._abort()

    def _abort(self) -> None:
        """The connection is over: drop what is queued, close the socket, wake the reader."""
        if self.close_code is None:
            self.close_code = 1006
        self.state = State.CLOSED
        if self._queue:
            self._queue.clear()
        self._queued = 0
        if self._closing_timer is not None:
            self._closing_timer.cancel()
        with contextlib.suppress(OSError):
            self._stream.socket.close()  # wakes a task blocked reading or writing it
        if self._closed is not None:
            self._closed.set()

    async def wait_closed(self) -> None:
        if self.state is State.CLOSED:
            return
        if self._closed is None:
            self._closed = trio.Event()
        await self._closed.wait()

    # -- reading --------------------------------------------------------------------------

    async def receive(self) -> bytes | str:
        """The next complete message. Raises ConnectionClosed when the connection ends,
        MessageTooBig (after closing with 1009) when a message exceeds ``max_message``."""
        while not self._pending:
            if self.state is State.CLOSED:
                raise ConnectionClosed(self.close_code or 1006, self.close_reason)
            try:
                data = await self._stream.receive_some(RECEIVE_BYTES)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self._abort()
                continue
            try:
                self._ws.receive_data(data)
                self._process_events()
            except RemoteProtocolError as exc:
                self.close(1002, "protocol error")
                self._abort()
                raise ConnectionClosed(1002, str(exc)) from None
        return self._pending.pop(0)

    def _process_events(self) -> None:
        for event in self._ws.events():
            if isinstance(event, BytesMessage | TextMessage):
                self._part_bytes += len(event.data)
                if self._part_bytes > self.max_message:
                    self.close(MESSAGE_TOO_BIG, "message too big")
                    raise MessageTooBig(f"message over {self.max_message} bytes")
                self._parts.append(event.data)
                if event.message_finished:
                    joined = (
                        "".join(self._parts)  # type: ignore[arg-type]
                        if isinstance(event, TextMessage)
                        else b"".join(self._parts)  # type: ignore[arg-type]
                    )
                    self._pending.append(joined)
                    self._parts, self._part_bytes = [], 0
            elif isinstance(event, Ping):
                self._send_control(self._ws.send(event.response()))
            elif isinstance(event, Pong):
                self.last_pong = trio.current_time()
            elif isinstance(event, CloseConnection):
                if self.state is State.OPEN:
                    self.close_code, self.close_reason = event.code, event.reason or ""
                    self.state = State.CLOSING
                    self._send_control(self._ws.send(event.response()))
                self._finish_close()

    def _finish_close(self) -> None:
        """The closing handshake is complete; the socket is closed by :meth:`aclose`."""
        self.state = State.CLOSED
        if self._closing_timer is not None:
            self._closing_timer.cancel()
        if self._closed is not None:
            self._closed.set()

    async def aclose(self) -> None:
        """Finish closing within ``CLOSE_TIMEOUT`` and release the socket."""
        with trio.move_on_after(CLOSE_TIMEOUT) as scope:
            scope.shield = True
            while self.state is State.CLOSING:
                try:
                    await self.receive()
                except (ConnectionClosed, MessageTooBig):
                    break
        if self.state is not State.CLOSED:
            self._finish_close()
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await self._stream.aclose()


Decide = Callable[[Handshake], Awaitable[Admission | Rejection]]


async def accept_websocket(
    stream: trio.SocketStream,
    decide: Decide,
    *,
    max_message: int,
    background: trio.Nursery,
    timers: Timers,
) -> WsConnection | None:
    """Read the upgrade request and let ``decide(handshake)`` accept or refuse it.

    Returns the open connection, or None when the request was refused or broken (the
    refusal is an HTTP response with the status and body of the :class:`Rejection`). The
    connection keeps only wsproto's frame protocol; the HTTP handshake state is dropped.
    """
    ws = H11Handshake(ConnectionType.SERVER)
    request: Request | None = None
    with trio.move_on_after(HANDSHAKE_TIMEOUT):
        while request is None:
            try:
                data = await stream.receive_some(RECEIVE_BYTES)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None
            if not data:
                return None
            try:
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        request = event
            except RemoteProtocolError as exc:
                await _send_raw_rejection(stream, exc)
                return None
    if request is None:
        return None
    handshake = _handshake(request, stream)
    answer = await decide(handshake)
    if isinstance(answer, Rejection):
        body = answer.body.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers.append((b"content-length", str(len(body)).encode()))
        out = ws.send(RejectConnection(status_code=answer.status, headers=headers, has_body=True))
        out += ws.send(RejectData(data=body))
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(out)
        return None
    out = ws.send(AcceptConnection(subprotocol=answer.subprotocol))
    try:
        await stream.send_all(out)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return None
    connection = ws.connection
    assert connection is not None  # accepted just above
    return WsConnection(
        stream,
        connection,
        handshake,
        answer.subprotocol,
        max_message=max_message,
        background=background,
        timers=timers,
        context=answer.context,
    )


def _handshake(request: Request, stream: trio.SocketStream) -> Handshake:
    path, _, query = request.target.partition("?")
    headers: dict[str, str] = {}
    for name, value in request.extra_headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    try:
        host, port = stream.socket.getpeername()[:2]
        remote = f"{host}:{port}"
    except OSError:
        remote = "?"
    return Handshake(path, query, headers, tuple(request.subprotocols), remote)


async def _send_raw_rejection(stream: trio.SocketStream, exc: RemoteProtocolError) -> None:
    status = getattr(exc, "event_hint", None)
    code = status.status_code if isinstance(status, RejectConnection) else 400
    body = b"not a WebSocket upgrade request"
    head = f"HTTP/1.1 {code} Bad Request\r\ncontent-length: {len(body)}\r\n"
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(head.encode() + b"connection: close\r\n\r\n" + body)
