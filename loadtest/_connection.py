"""One WebSocket connection of a virtual user: connect with a ticket, join the user's
rooms, read everything the server sends, and resume with ``since`` after a drop.

Measured here: ``ws.connect`` (ticket request, TCP, upgrade and ``welcome``), ``ws.join``
(``join`` to ``joined``), ``ws.latency`` (a chat's intended send time to its arrival, for
every receiver), ``ws.ack`` (intended send time to the ack), ``ws.reconnect`` (drop to all
rooms re-joined), deliveries, and gaps and duplicates per room from sequence numbers.
"""

from __future__ import annotations

import contextlib
import random
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgpack
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from protocol import (
    MAX_SERVER_FRAME_BYTES,
    MSGPACK,
    Ack,
    Conflict,
    ErrorMessage,
    GoAway,
    Join,
    Joined,
    Kicked,
    MemberJoined,
    MemberLeft,
    PitchUpdated,
    ProtocolError,
    Resync,
    ServerChat,
    Welcome,
    decode_server,
    encode,
    pitch_room,
)

from ._clock import ReferenceClock
from ._http_client import Api
from ._metrics import Recorder
from ._sequence import SequenceTracker

_EPHEMERAL = frozenset({"typing", "presence"})
_MEMBERSHIP = frozenset({"member_joined", "member_left"})
CHAT_PREFIX = "lt "  # chat bodies: "lt <intended ns> <user index> <n>"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 10.0


class Dropped(Exception):
    """The connection was dropped on purpose (or told to go away) and should be resumed."""


class Recorded(Exception):
    """The session ended for a reason already recorded as an error."""


class Context:
    """What every connection of a worker shares."""

    def __init__(
        self,
        api: Api,
        recorder: Recorder,
        clock: ReferenceClock,
        room_ids: list[int],
        connect_timeout: float,
        ws_auth: str = "ticket",
    ) -> None:
        self.api = api
        self.recorder = recorder
        self.clock = clock
        self.room_ids = room_ids
        self.connect_timeout = connect_timeout
        self.ws_auth = ws_auth
        self.server_offsets: list[tuple[int, int, int]] = []  # clock probes from welcome


class Connection:
    def __init__(self, ctx: Context, account: Any, ws_url: str, rooms: list[str]) -> None:
        self.ctx = ctx
        self.account = account
        self.ws_url = ws_url
        self.rooms = rooms
        self.trackers = {room: SequenceTracker() for room in rooms}
        self.versions: dict[str, int] = {}  # pitch room -> current pitch version
        self.pending: dict[str, int] = {}  # chat clientId -> intended send (ref ns)
        self.ws: WebSocketConnection | None = None
        self.ready = trio.Event()
        self._drop: trio.CancelScope | None = None
        self._resume_after = 0.0
        self._dropped_at: float | None = None
        self._on_joined: Callable[[str, Joined], None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until cancelled, resuming after drops with backoff."""
        backoff = BACKOFF_MIN_S
        first = True
        while True:
            if not first:
                self.ctx.recorder.count("ws.reconnects")
            first = False
            started = time.perf_counter()
            try:
                await self._session()
            except Dropped:
                backoff = BACKOFF_MIN_S
                await trio.sleep(self._resume_after)
                # a planned drop: the reconnect is timed from when it starts
                self._dropped_at = time.perf_counter()
                continue
            except (ConnectionClosed, Recorded):
                pass  # recorded where it happened
            except (OSError, HandshakeError, ProtocolError, trio.TooSlowError) as exc:
                self.ctx.recorder.error(f"ws.{_kind(exc)}")
            if self._dropped_at is None:
                self._dropped_at = started
            await trio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(BACKOFF_MAX_S, backoff * 2)

    def drop(self, resume_after: float) -> None:
        """Lose the connection now (no close handshake) and resume after a delay."""
        if self._drop is not None:
            self._resume_after = resume_after
            self._drop.cancel()

    async def _session(self) -> None:
        """One connection's life; its errors come out bare, not in an ExceptionGroup."""
        error: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                try:
                    await self._session_in(nursery)
                except _SESSION_ERRORS as exc:
                    error = exc
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # trio-websocket's reader task runs in this nursery: a refused upgrade
            # (ConnectionRejected) or a broken socket surfaces from there
            matched, rest = group.split(_SESSION_ERRORS)
            if rest is not None or matched is None:
                raise
            error = _first_leaf(matched)
        if error is not None:
            raise error

    async def _session_in(self, nursery: trio.Nursery) -> None:
        rec = self.ctx.recorder
        connect_started = time.perf_counter()
        rec.count("ws.operations")
        with trio.fail_after(self.ctx.connect_timeout):
            token = await self.account.fresh_token(self.ctx.api)
            if self.ctx.ws_auth == "ticket":
                reply = await self.ctx.api.call(
                    "ws_token", "GET", self.account.base, "/api/ws/token",
                    source=self.account.user.source, token=token,
                )  # fmt: skip
                if not reply.ok:
                    raise OSError(f"no ticket ({reply.status})")
                credential = f"ticket={reply.data['token']}"
            else:
                credential = f"token={token}"
            sent_ns = time.time_ns()
            ws, stream = await self._open(nursery, credential)
            welcome = decode_server(await ws.get_message(), MSGPACK)
        if not isinstance(welcome, Welcome):
            await stream.aclose()
            raise OSError(f"first frame was {type(welcome).__name__}, not welcome")
        self.ctx.server_offsets.append((sent_ns, welcome.server_time * 1_000_000, time.time_ns()))
        rec.observe_ms("ws.connect", (time.perf_counter() - connect_started) * 1000)
        rec.count("ws.connects")
        rec.connections += 1
        self.ws = ws
        drop_scope = trio.CancelScope()
        self._drop = drop_scope
        try:
            with drop_scope:
                await self._joined_session(ws)
            if drop_scope.cancelled_caught:
                self._dropped_at = time.perf_counter()
                rec.count("ws.drops")
                await stream.aclose()  # abrupt: no close frame, as a network loss
                raise Dropped
        finally:
            rec.connections -= 1
            self.ws = None
            self._drop = None
            if self.ready.is_set():
                self.ready = trio.Event()
            if self.pending:
                rec.count("ws.unacked", len(self.pending))
                self.pending.clear()
            with trio.move_on_after(2) as cleanup:
                cleanup.shield = True
                with contextlib.suppress(Exception):
                    await ws.aclose()

    async def _open(
        self, nursery: trio.Nursery, credential: str
    ) -> tuple[WebSocketConnection, Any]:
        parts = urlsplit(self.ws_url)
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        assert parts.hostname is not None
        self.ctx.api.check(self.ws_url)
        stream: Any = await trio.open_tcp_stream(parts.hostname, port)
        if secure:
            stream = trio.SSLStream(
                stream, ssl.create_default_context(), server_hostname=parts.hostname
            )
        resource = f"{parts.path or '/'}?{credential}"
        ws = await wrap_client_stream(
            nursery,
            stream,
            parts.hostname,
            resource,
            subprotocols=["pitchey.v1.msgpack"],
            max_message_size=MAX_SERVER_FRAME_BYTES,
            message_queue_size=64,
        )
        return ws, stream

    async def _joined_session(self, ws: WebSocketConnection) -> None:
        rec = self.ctx.recorder
        joining: dict[str, float] = {}
        for room in self.rooms:
            tracker = self.trackers[room]
            since = tracker.last
            joining[room] = time.perf_counter()
            await ws.send_message(encode(Join(room=room, since=since, id=room), MSGPACK))
            rec.count("ws.operations")
        while True:
            try:
                frame = await ws.get_message()
            except ConnectionClosed as exc:
                code = exc.reason.code if exc.reason else None
                rec.error(f"ws.close.{code}")
                raise Recorded("closed") from exc
            if self._fast_event(frame):
                continue
            try:
                message = decode_server(frame, MSGPACK)
            except ProtocolError as exc:
                rec.error(f"ws.bad_frame.{exc.code}")
                continue
            self._handle(message, joining)

    # -- receiving --------------------------------------------------------------------

    def _fast_event(self, frame: bytes | str) -> bool:
        """Handle a room broadcast from its raw map, checking only the fields used here.

        Broadcasts (chat, member_joined/left, typing, presence) are nearly every frame of a
        big room, and a join storm alone sends members O(n²) of them; validating each with
        the protocol package costs more client CPU than the server spends sending it, and
        the harness would measure its own backlog. Any other frame (or a broadcast that
        fails this check) returns False and gets full validation."""
        if not isinstance(frame, bytes):
            return False
        try:
            raw = msgpack.unpackb(frame, raw=False, strict_map_key=False)
        except (ValueError, msgpack.UnpackException):
            return False
        if not isinstance(raw, dict):
            return False
        kind, room = raw.get("type"), raw.get("room")
        if not isinstance(room, str):
            return False
        if kind in _EPHEMERAL:
            return True
        seq = raw.get("seq")
        if kind in _MEMBERSHIP and isinstance(seq, int):
            self._sequence(room, seq)
            return True
        body = raw.get("body")
        if kind != "chat" or not isinstance(seq, int) or not isinstance(body, str):
            return False
        rec = self.ctx.recorder
        rec.count("ws.deliveries")
        self._sequence(room, seq)
        if body.startswith(CHAT_PREFIX):
            intended = int(body.split(" ", 2)[1])
            rec.observe_ms("ws.latency", (self.ctx.clock.now_ns() - intended) / 1e6)
        return True

    def _handle(self, message: Any, joining: dict[str, float]) -> None:
        rec = self.ctx.recorder
        if isinstance(message, ServerChat):
            rec.count("ws.deliveries")
            self._sequence(message.room, message.seq)
            body = message.body
            if body.startswith(CHAT_PREFIX):
                intended = int(body.split(" ", 2)[1])
                rec.observe_ms("ws.latency", (self.ctx.clock.now_ns() - intended) / 1e6)
        elif isinstance(message, Ack):
            if message.client_id is not None:
                intended = self.pending.pop(message.client_id, None)
                if intended is not None:
                    rec.observe_ms("ws.ack", (self.ctx.clock.now_ns() - intended) / 1e6)
        elif isinstance(message, MemberJoined | MemberLeft):
            self._sequence(message.room, message.seq)
        elif isinstance(message, PitchUpdated):
            self._sequence(message.room, message.seq)
            self.versions[message.room] = message.version
        elif isinstance(message, Joined):
            self._joined(message, joining)
        elif isinstance(message, Conflict):
            self.versions[message.room] = message.version
            rec.count("ws.conflicts")
        elif isinstance(message, Resync | Kicked):
            rec.error(f"ws.{message.TYPE}")
            self.trackers[message.room] = SequenceTracker()
            raise Recorded(message.TYPE)
        elif isinstance(message, ErrorMessage):
            rec.error(f"ws.error.{message.code}")
            if message.id in joining:
                raise Recorded(f"join refused: {message.code}")
        elif isinstance(message, GoAway):
            rec.count("ws.goaway")
            self._resume_after = message.retry_after_ms / 1000.0
            if self._drop is not None:
                self._drop.cancel()

    def _joined(self, message: Joined, joining: dict[str, float]) -> None:
        rec = self.ctx.recorder
        room = message.room
        started = joining.pop(room, None)
        if started is not None:
            rec.observe_ms("ws.join", (time.perf_counter() - started) * 1000)
        tracker = self.trackers[room]
        if tracker.last is None:
            tracker.snapshot(message.seq)
        else:
            for event in message.history:
                seq = event.get("seq") if isinstance(event, dict) else getattr(event, "seq", None)
                if isinstance(seq, int):
                    self._sequence(room, seq)
            if tracker.last is not None and tracker.last < message.seq:
                missed = message.seq - tracker.last
                tracker.gaps += missed
                rec.count("ws.gaps", missed)
                tracker.last = message.seq
        if message.pitch and isinstance(message.pitch.get("version"), int):
            self.versions[room] = message.pitch["version"]
        if not joining:
            if self._dropped_at is not None:
                rec.observe_ms("ws.reconnect", (time.perf_counter() - self._dropped_at) * 1000)
                self._dropped_at = None
            self.ready.set()

    def _sequence(self, room: str, seq: int) -> None:
        tracker = self.trackers.get(room)
        if tracker is None:
            return
        missed, duplicated = tracker.event(seq)
        if missed:
            self.ctx.recorder.count("ws.gaps", missed)
        if duplicated:
            self.ctx.recorder.count("ws.duplicates", duplicated)

    # -- sending ----------------------------------------------------------------------

    async def send(self, message: Any) -> bool:
        """Send if connected and joined; False otherwise (nothing sent)."""
        ws = self.ws
        if ws is None or not self.ready.is_set():
            return False
        try:
            await ws.send_message(encode(message, MSGPACK))
        except ConnectionClosed:
            return False
        self.ctx.recorder.count("ws.operations")
        return True


_SESSION_ERRORS = (
    Dropped,
    Recorded,
    ConnectionClosed,
    OSError,
    HandshakeError,
    ProtocolError,
    trio.TooSlowError,
)


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def room_names(ids: list[int]) -> list[str]:
    return [pitch_room(i) for i in ids]


def _kind(exc: BaseException) -> str:
    if isinstance(exc, trio.TooSlowError):
        return "connect.timeout"
    if isinstance(exc, ConnectionRejected):
        return f"connect.rejected.{exc.status_code}"
    if isinstance(exc, HandshakeError):
        return "connect.handshake"
    if isinstance(exc, ConnectionClosed):
        return "closed"
    if isinstance(exc, ProtocolError):
        return f"bad_frame.{exc.code}"
    text = str(exc)
    for kind in ("no ticket", "first frame"):
        if text.startswith(kind):
            return kind.replace(" ", "_")
    return "connect.refused" if isinstance(exc, ConnectionRefusedError) else "connect.oserror"
