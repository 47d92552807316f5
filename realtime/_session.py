"""The session actor: one per WebSocket connection, and its error boundary.

It validates every incoming message (a bad one gets ``error`` echoing its id; the socket
stays open unless the framing itself is violated), routes room traffic to room actors,
writes chat and pitch edits through storage and acknowledges them once durable, and keeps
the connection honest: rate limit, heartbeat, token expiry.

While idle a session is one parked task (its read loop) and a few objects: the heartbeat
and the token expiry are timers on the listener's shared :class:`Timers`, not tasks.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import structlog
import trio

from protocol import (
    AUTH_EXPIRY_WARNING_MS,
    GOAWAY_RETRY_MAX_MS,
    GOAWAY_RETRY_MIN_MS,
    HEARTBEAT_INTERVAL_MS,
    HEARTBEAT_TIMEOUT_MS,
    MAX_CONNECTIONS_PER_USER,
    MAX_ROOMS_PER_CONNECTION,
    Ack,
    Auth,
    AuthExpiring,
    ClientChat,
    ClientPresence,
    ClientTyping,
    CloseCode,
    Codec,
    Conflict,
    ErrorCode,
    ErrorMessage,
    GoAway,
    Join,
    Leave,
    Ping,
    PitchUpdate,
    Pong,
    ProtocolError,
    RoomKind,
    Welcome,
    decode_client,
    encode,
    parse_room,
)
from storage import (
    EditOutcome,
    StorageError,
    Verdict,
    append_chat,
    append_conversation_message,
    check_room_access,
    edit_pitch,
    publish_domain_events,
)

from . import _room
from ._actor import ActorStopped, MailboxFull
from ._admission import Admitter, Identity
from ._hub import Hub
from ._notification_backlog import send_missed_notifications
from ._rate_limit import RateLimiter
from ._timers import Timer
from ._ws_transport import ConnectionClosed, MessageTooBig, WsConnection

log = structlog.get_logger("realtime.session")

JOIN_TIMEOUT = 5.0


class Session:
    """One connection's state. Rooms and the hub call its synchronous methods."""

    __slots__ = (
        "__weakref__",
        "_busy",
        "_draining",
        "_expiry_deadline",
        "_expiry_timer",
        "_heartbeat_timer",
        "_ping_sent",
        "admitter",
        "codec",
        "conn",
        "connection_id",
        "expires_at",
        "hub",
        "limiter",
        "presence",
        "rooms",
        "user",
        "user_id",
    )

    def __init__(self, conn: WsConnection, identity: Identity, hub: Hub, admitter: Admitter):
        self.conn = conn
        self.hub = hub
        self.admitter = admitter
        self.codec: Codec = identity.codec
        self.user: dict[str, Any] = identity.user
        self.user_id = identity.user_id
        self.connection_id = uuid.uuid4().hex
        self.presence = "online"
        self.rooms: set[str] = set()
        self._expiry_timer: Timer | None = None
        self._heartbeat_timer: Timer | None = None
        self._ping_sent = 0.0
        self._set_expiry(identity.expires_at)
        self.limiter = RateLimiter()
        self._busy = False  # a message is being handled (a drain lets it finish)
        self._draining = False

    @property
    def closed(self) -> bool:
        return self.conn.close_code is not None

    def send(self, data: bytes | str, *, durable: bool = True) -> None:
        self.conn.send_message(data, durable=durable)

    def reply(self, message: Any) -> None:
        self.send(encode(message, self.codec))
        self.hub.metrics.outbound[message.TYPE] += 1

    def error(self, code: ErrorCode, message: str, id: Any = None) -> None:
        self.reply(ErrorMessage(id=id, code=code, message=message))

    def forget_room(self, room: str) -> None:
        self.rooms.discard(room)

    def goaway(self, reason: str = "draining") -> None:
        """Tell the client to reconnect elsewhere (jittered), then close with 1001 as soon
        as the message in hand, if any, has been answered."""
        retry = random.randint(GOAWAY_RETRY_MIN_MS, GOAWAY_RETRY_MAX_MS)
        self.reply(GoAway(reason=reason, retry_after_ms=retry))
        self._draining = True
        if not self._busy:
            self.conn.close(CloseCode.GOING_AWAY, "server shutting down")

    # -- life -------------------------------------------------------------------------------

    async def run(self) -> None:
        if self.hub.add_session(self) > MAX_CONNECTIONS_PER_USER:
            self.error(ErrorCode.TOO_MANY_CONNECTIONS, "too many connections for this user")
            self.conn.close(CloseCode.TOO_MANY_CONNECTIONS, "too many connections")
            self.hub.remove_session(self)
            return
        structlog.contextvars.bind_contextvars(connection=self.connection_id, user=self.user_id)
        log.info("session_started", remote=self.conn.remote)
        self.reply(
            Welcome(
                connection_id=self.connection_id,
                user=self.user,
                node=self.hub.node_id,
                server_time=int(time.time() * 1000),
                heartbeat_ms=HEARTBEAT_INTERVAL_MS,
            )
        )
        self._heartbeat_timer = self.conn.timers.call_after(
            HEARTBEAT_INTERVAL_MS / 1000, self._ping
        )
        self.conn.background.start_soon(self._send_backlog)
        if self.hub.draining:
            self.goaway()  # admitted while the node started draining
        try:
            await self._read_loop()
        finally:
            for timer in (self._heartbeat_timer, self._expiry_timer):
                if timer is not None:
                    timer.cancel()
            for room in list(self.rooms):
                self._tell_room(room, _room.Leave(self))
            self.rooms.clear()
            self.hub.remove_session(self)
            if self.conn.close_code == CloseCode.SLOW_CONSUMER:
                self.hub.metrics.slow_consumer_closes += 1
            log.info("session_ended", code=self.conn.close_code)

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self.conn.receive()
            except (ConnectionClosed, MessageTooBig):
                return
            if self.closed:
                return  # closing (goaway, rate limit): the client resends what is unacked
            self.hub.metrics.messages_in += 1
            verdict = self.limiter.check(trio.current_time())
            if verdict is RateLimiter.CLOSE:
                self.error(ErrorCode.RATE_LIMITED, "too many messages")
                self.conn.close(CloseCode.RATE_LIMITED, "rate limit")
                return
            if verdict is RateLimiter.REJECT:
                self.error(ErrorCode.RATE_LIMITED, "slow down: at most 20 messages a second")
                continue
            try:
                message = decode_client(data, self.codec)
            except ProtocolError as exc:
                self.reply(exc.to_message())
                if exc.close_code is not None:
                    self.conn.close(exc.close_code, exc.message[:120])
                    return
                continue
            self.hub.metrics.inbound[message.TYPE] += 1
            self._busy = True
            try:
                await self._dispatch(message)
            except StorageError as exc:
                log.warning("session_storage_error", type=message.TYPE, error=str(exc))
                self.error(ErrorCode.UNAVAILABLE, "storage unavailable; retry", message.id)
            except Exception:
                log.exception("session_message_failed", type=message.TYPE)
                self.error(ErrorCode.INTERNAL, "internal error", getattr(message, "id", None))
            self._busy = False
            if self._draining:
                self.conn.close(CloseCode.GOING_AWAY, "server shutting down")
                return

    async def _dispatch(self, message: Any) -> None:
        if isinstance(message, Ping):
            self.reply(Pong(id=message.id))
        elif isinstance(message, ClientChat):
            await self._chat(message)
        elif isinstance(message, ClientTyping):
            if self._require_joined(message.room, message.id):
                self._tell_room(message.room, _room.Typing(self, message.typing))
        elif isinstance(message, Join):
            await self._join(message)
        elif isinstance(message, Leave):
            self._leave(message)
        elif isinstance(message, ClientPresence):
            self.presence = message.status
            for room in self.rooms:
                self._tell_room(room, _room.PresenceChanged(self))
        elif isinstance(message, PitchUpdate):
            await self._pitch_update(message)
        elif isinstance(message, Auth):
            await self._auth(message)

    # -- rooms ------------------------------------------------------------------------------

    async def _join(self, message: Join) -> None:
        room = message.room
        if room not in self.rooms and len(self.rooms) >= MAX_ROOMS_PER_CONNECTION:
            self.error(ErrorCode.TOO_MANY_ROOMS, "at most 50 rooms per connection", message.id)
            return
        kind, entity_id = parse_room(room)
        access = await check_room_access(self.hub.storage, kind.value, entity_id, self.user_id)
        if access.verdict is not Verdict.ALLOWED:
            code = (
                ErrorCode.NOT_FOUND if access.verdict is Verdict.NOT_FOUND else ErrorCode.FORBIDDEN
            )
            self.error(code, f"you may not join {room}", message.id)
            return
        for _attempt in range(2):
            actor = await self.hub.room(room)
            try:
                with trio.fail_after(JOIN_TIMEOUT):
                    joined = await actor.mailbox.ref.ask(
                        lambda reply: _room.Join(self, message.since, access.pitch, reply)
                    )
            except ActorStopped:
                continue  # the room stopped between lookup and join: start it again
            except trio.TooSlowError:
                self.error(ErrorCode.UNAVAILABLE, "room busy; retry", message.id)
                return
            if joined:
                self.rooms.add(room)
            else:
                self.rooms.discard(room)
            return
        self.error(ErrorCode.UNAVAILABLE, "room restarting; retry", message.id)

    def _leave(self, message: Leave) -> None:
        if message.room in self.rooms:
            self.rooms.discard(message.room)
            self._tell_room(message.room, _room.Leave(self))
        self.reply(Ack(id=message.id))

    def _tell_room(self, room: str, message: Any) -> None:
        actor = self.hub.rooms.get(room)
        if actor is None:
            return
        try:
            actor.mailbox.ref.tell(message)
        except (MailboxFull, ActorStopped):
            log.warning("room_unreachable", room=room, message=type(message).__name__)

    def _require_joined(self, room: str, id: Any) -> bool:
        if room in self.rooms:
            return True
        self.error(ErrorCode.NOT_JOINED, f"join {room} first", id)
        return False

    async def _chat(self, message: ClientChat) -> None:
        if not self._require_joined(message.room, message.id):
            return
        storage = self.hub.storage
        kind, entity_id = parse_room(message.room)
        if kind is RoomKind.CONVERSATION:
            # Same path as HTTP: bookkeeping and a new_message notification for the others.
            appended = await append_conversation_message(
                storage, entity_id, self.user_id, message.body, message.client_id
            )
            if appended is None:
                self.error(ErrorCode.FORBIDDEN, "not a participant", message.id)
                return
            seq = appended.message.seq
            await publish_domain_events(
                storage, [("notification", n.event_data()) for n in appended.notifications]
            )
        else:
            result = await append_chat(
                storage,
                message.room,
                sender_id=self.user_id,
                body=message.body,
                client_id=message.client_id,
            )
            seq = result.seq
        self.reply(Ack(id=message.id, seq=seq, client_id=message.client_id))

    async def _pitch_update(self, message: PitchUpdate) -> None:
        if not self._require_joined(message.room, message.id):
            return
        _, pitch_id = parse_room(message.room)
        edit = await edit_pitch(
            self.hub.storage, pitch_id, self.user_id, message.version, dict(message.fields)
        )
        if edit.outcome is EditOutcome.FORBIDDEN:
            self.error(ErrorCode.FORBIDDEN, "only the owner and collaborators edit", message.id)
        elif edit.outcome is EditOutcome.NOT_FOUND:
            self.error(ErrorCode.NOT_FOUND, "no such pitch", message.id)
        elif edit.outcome is EditOutcome.INVALID:
            self.error(ErrorCode.INVALID_MESSAGE, edit.message or "invalid value", message.id)
        else:
            if edit.outcome is EditOutcome.APPLIED:
                self.reply(Ack(id=message.id, seq=edit.seq))
            if edit.conflicts:
                self.reply(
                    Conflict(
                        id=message.id,
                        room=message.room,
                        version=edit.version,
                        fields=edit.conflicts,
                    )
                )

    # -- connection health ------------------------------------------------------------------

    async def _auth(self, message: Auth) -> None:
        user_id, expires_at = await self.admitter.verify(message.token)
        if user_id is None:
            self.error(ErrorCode.UNAUTHORIZED, "token invalid or expired", message.id)
        elif user_id != self.user_id:
            self.error(ErrorCode.FORBIDDEN, "token is for another user", message.id)
            self.conn.close(CloseCode.FORBIDDEN, "user changed")
        else:
            self._set_expiry(expires_at)
            self.reply(Ack(id=message.id))

    def _set_expiry(self, expires_at: float) -> None:
        """Map the token's wall-clock expiry onto trio's clock (MockClock in tests):
        ``auth_expiring`` a minute before it, a close with 4401 at it."""
        self.expires_at = expires_at
        self._expiry_deadline = trio.current_time() + (expires_at - time.time())
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        self._expiry_timer = self.conn.timers.call_at(
            self._expiry_deadline - AUTH_EXPIRY_WARNING_MS / 1000, self._warn_expiry
        )

    def _warn_expiry(self) -> None:
        self.reply(AuthExpiring(expires_at=int(self.expires_at * 1000)))
        self._expiry_timer = self.conn.timers.call_at(self._expiry_deadline, self._expire)

    def _expire(self) -> None:
        self.conn.close(CloseCode.UNAUTHORIZED, "token expired")

    def _ping(self) -> None:
        """Ping every interval; no pong within the timeout closes the connection."""
        if self.closed:
            return
        self._ping_sent = trio.current_time()
        self.conn.ping()
        self._heartbeat_timer = self.conn.timers.call_after(
            HEARTBEAT_TIMEOUT_MS / 1000, self._check_pong
        )

    def _check_pong(self) -> None:
        if self.conn.last_pong < self._ping_sent:
            log.info("session_heartbeat_timeout", connection=self.connection_id)
            self.conn.close(CloseCode.GOING_AWAY, "heartbeat timeout")
            return
        self._heartbeat_timer = self.conn.timers.call_after(
            HEARTBEAT_INTERVAL_MS / 1000, self._ping
        )

    async def _send_backlog(self) -> None:
        """Runs beside the session in the listener's nursery: it must never raise."""
        try:
            await send_missed_notifications(self)
        except Exception:
            log.exception("notification_backlog_crashed", connection=self.connection_id)


async def serve_session(conn: WsConnection, *, hub: Hub, admitter: Admitter) -> None:
    """The WebSocket server's handler: one session per accepted connection."""
    identity = conn.context
    assert isinstance(identity, Identity)
    session = Session(conn, identity, hub, admitter)
    conn.context = None  # the session holds what it needs
    await session.run()
