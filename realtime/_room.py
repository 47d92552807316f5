"""The room actor: one per pitch or conversation room with members on this node.

It owns the room's local membership and typing state, its view of the cluster-wide
members and their status, and the last ``HISTORY_ON_JOIN`` durable events, and it fans
every event out to its local members. Durable events reach it only through the bus (in the
room's sequence order, identical on every node); it fills a gap from the Redis history
before delivering further. A join is answered by the room itself, which writes ``joined``
to the member before any later event.

Presence is cluster-wide (``storage._presence``): the room records which users it has
locally under the node's lease, in batches, retrying while Redis is away; the script
announces ``member_joined``/``member_left`` only for a user's first and last connection in
the whole cluster. The member list (``roster``) follows those announcements in sequence
order, so every node agrees on it. Typing and presence changes travel over the bus too
(sequence 0, not stored); a room skips its own echo.

Mailbox: ``MAILBOX_SIZE`` messages. A full mailbox refuses session requests (the session
reports ``unavailable``); a bus event that does not fit is dropped and recovered as a gap.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgpack
import structlog
import trio

from protocol import HISTORY_ON_JOIN, TYPING_TTL_MS, Codec, Joined, Kicked, Resync, encode
from storage import (
    RoomSnapshot,
    StorageError,
    decode_ephemeral,
    open_room_presence,
    read_history,
    room_snapshot,
)

from ._actor import ActorStopped, Mailbox, MailboxFull, Reply
from ._room_presence import EphemeralOutbox, PresenceRecorder
from ._ws_transport import frame

if TYPE_CHECKING:
    from ._hub import Hub
    from ._session import Session

log = structlog.get_logger("realtime.room")

MAILBOX_SIZE = 4096
IDLE_STOP_SECONDS = 60.0
TYPING_TTL = TYPING_TTL_MS / 1000


@dataclass(slots=True)
class BusEvent:
    seq: int
    payload: bytes


@dataclass(slots=True)
class Join:
    session: Session
    since: int | None
    pitch: dict[str, Any] | None
    reply: Reply[bool]


@dataclass(slots=True)
class Leave:
    session: Session


@dataclass(slots=True)
class Typing:
    session: Session
    typing: bool


@dataclass(slots=True)
class PresenceChanged:
    session: Session


@dataclass(slots=True)
class Resubscribed:
    pass


@dataclass(slots=True)
class Kick:
    user_id: int
    reason: str


class Room:
    """State and behaviour of one room; ``run_room`` drives it as a supervised child."""

    def __init__(self, name: str, hub: Hub) -> None:
        self.name = name
        self.hub = hub
        self.mailbox: Mailbox[Any] = Mailbox(f"room {name}", MAILBOX_SIZE)
        self.members: dict[Session, None] = {}  # local sessions, insertion-ordered
        self.tabs: Counter[int] = Counter()  # local sessions per user
        self.roster: dict[int, dict[str, Any]] = {}  # cluster-wide members, from events
        self.status: dict[int, str] = {}  # cluster-wide presence status
        self.typing: dict[int, float] = {}  # local user id → trio deadline
        self.recent: deque[dict[str, Any]] = deque(maxlen=HISTORY_ON_JOIN)
        self.last_seq = 0
        self.suspect_gap = False
        self.presence = PresenceRecorder(self)
        self.outbox = EphemeralOutbox(self)

    # -- called by the bus (synchronously, from its task) ----------------------------------

    def deliver(self, seq: int, payload: bytes) -> None:
        try:
            self.mailbox.ref.tell(BusEvent(seq, payload))
        except MailboxFull:
            self.suspect_gap = True
        except ActorStopped:
            pass  # stopping: the bus unsubscribes this room next

    def resubscribed(self) -> None:
        try:
            self.mailbox.ref.tell(Resubscribed())
        except MailboxFull:
            self.suspect_gap = True
        except ActorStopped:
            pass
        self.presence.wake()  # a write that failed during the outage: try it now

    def lease_changed(self) -> None:
        """The node took a new lease: record the local members under it."""
        self.presence.wake()

    # -- the actor loop ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Room], restarts: int = 0) -> None:
        await self.hub.bus.subscribe(self.name, self)
        try:
            lease = self.hub.lease
            snapshot = await open_room_presence(
                self.hub.storage, self.name, lease, count=HISTORY_ON_JOIN
            )
            self.presence.opened(lease)
            self._apply(snapshot)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.presence.run)
                nursery.start_soon(self.outbox.run)
                task_status.started(self)
                if restarts:
                    self._resync_local_members(restarts)
                await self._loop()
                nursery.cancel_scope.cancel()
        finally:
            self.mailbox.close()
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await self.hub.bus.unsubscribe(self.name)

    async def _loop(self) -> None:
        idle_since: float | None = trio.current_time() if not self.members else None
        while True:
            deadline = min(self.typing.values(), default=float("inf"))
            if idle_since is not None:
                deadline = min(deadline, idle_since + IDLE_STOP_SECONDS)
            message = None
            with trio.move_on_at(deadline):
                message = await self.mailbox.receive()
            now = trio.current_time()
            if message is None:
                self._expire_typing(now)
                if idle_since is not None and now >= idle_since + IDLE_STOP_SECONDS:
                    # Not while Redis still lists members here (a presence write pending).
                    if self.presence.clean and self.hub.release_room(self):
                        log.info("room_stopped_idle", room=self.name)
                        return
                    idle_since = now
                continue
            await self._handle(message)
            if self.suspect_gap:
                self.suspect_gap = False
                await self._catch_up()
            if self.members:
                idle_since = None
            elif idle_since is None:
                idle_since = now

    async def _handle(self, message: Any) -> None:
        if isinstance(message, BusEvent):
            await self._on_event(message.seq, message.payload)
        elif isinstance(message, Join):
            self._on_join(message)
        elif isinstance(message, Leave):
            self._on_leave(message.session)
        elif isinstance(message, Typing):
            self._on_typing(message.session, message.typing)
        elif isinstance(message, PresenceChanged):
            self._on_presence(message.session)
        elif isinstance(message, Resubscribed):
            await self._catch_up()
        elif isinstance(message, Kick):
            self._on_kick(message.user_id, message.reason)

    # -- durable events ---------------------------------------------------------------------

    async def _on_event(self, seq: int, payload: bytes) -> None:
        if seq == 0:
            self._on_remote_ephemeral(payload)
            return
        if seq <= self.last_seq:
            return  # already delivered (from history or a duplicate)
        if seq > self.last_seq + 1 and not await self._fill(seq - 1):
            return
        event = msgpack.unpackb(payload, raw=False)
        event["seq"] = seq
        self._publish_local(event)

    async def _catch_up(self) -> None:
        """After a bus outage or a dropped event: deliver whatever history holds beyond us."""
        try:
            current, _ = await read_history(self.hub.storage, self.name, after=0, count=1)
        except StorageError as exc:
            log.warning("room_catch_up_failed", room=self.name, error=str(exc))
            return
        if current > self.last_seq:
            await self._fill(current)

    async def _fill(self, until: int) -> bool:
        """Deliver events ``last_seq+1 .. until`` from history; resync members if it has
        been trimmed past them. Returns whether the room is contiguous up to ``until``."""
        try:
            _, events = await read_history(
                self.hub.storage, self.name, after=self.last_seq, until=until, count=until
            )
        except StorageError as exc:
            log.warning("room_gap_unfilled", room=self.name, error=str(exc))
            return False
        if not events or events[0]["seq"] != self.last_seq + 1:
            log.warning("room_history_trimmed", room=self.name, last=self.last_seq)
            try:
                snapshot = await room_snapshot(self.hub.storage, self.name, count=HISTORY_ON_JOIN)
            except StorageError as exc:
                log.warning("room_gap_unfilled", room=self.name, error=str(exc))
                return False
            self._resync_local_members(0)
            self._apply(snapshot)
            return True
        for event in events:
            self._publish_local(event)
        return self.last_seq == until

    def _publish_local(self, event: dict[str, Any]) -> None:
        self.last_seq = event["seq"]
        self.recent.append(event)
        kind = event["type"]
        if kind == "member_joined":
            user_id = int(event["user"]["id"])
            self.roster[user_id] = event["user"]
            self.status.setdefault(user_id, "online")
        elif kind == "member_left":
            self.roster.pop(int(event["userId"]), None)
            self.status.pop(int(event["userId"]), None)
        self._broadcast(event, durable=True)

    def _apply(self, snapshot: RoomSnapshot) -> None:
        """Take the room as Redis has it at ``snapshot.seq``."""
        self.last_seq = snapshot.seq
        self.recent.clear()
        self.recent.extend(snapshot.events)
        self.roster = snapshot.members
        self.status = snapshot.status

    # -- membership -------------------------------------------------------------------------

    def _on_join(self, join: Join) -> None:
        session, since = join.session, join.since
        if session.closed:
            join.reply.send(False)
            return
        if since is not None and (
            since > self.last_seq or self.last_seq - since > len(self.recent)
        ):
            session.send(encode(Resync(room=self.name), session.codec))
            join.reply.send(False)
            return
        history = [e for e in self.recent if since is None or e["seq"] > since]
        new_member = session not in self.members
        self.members[session] = None
        if new_member:
            self.tabs[session.user_id] += 1
            if self.tabs[session.user_id] == 1:
                self.presence.wake()
        reply = Joined(
            room=self.name,
            seq=self.last_seq,
            members=tuple(self._member_list()),
            presence={str(uid): status for uid, status in self._presence().items()},
            history=tuple(history),
            pitch=join.pitch,
        )
        session.send(encode(reply, session.codec))
        self.hub.metrics.outbound["joined"] += 1
        join.reply.send(True)

    def _on_leave(self, session: Session) -> None:
        if self.members.pop(session, False) is False:
            return
        user_id = session.user_id
        self.tabs[user_id] -= 1
        if self.tabs[user_id] <= 0:
            del self.tabs[user_id]
            if self.typing.pop(user_id, None) is not None:
                self._typing_event(user_id, False, exclude=None)
            self.presence.wake()

    def _on_kick(self, user_id: int, reason: str) -> None:
        """Remove every local connection of ``user_id``, telling each why."""
        for session in [s for s in self.members if s.user_id == user_id]:
            session.send(encode(Kicked(room=self.name, reason=reason), session.codec))
            session.forget_room(self.name)
            self._on_leave(session)

    def _member_list(self) -> list[dict[str, Any]]:
        """Cluster-wide members, plus local ones whose ``member_joined`` is still to come."""
        seen = dict(self.roster)
        for session in self.members:
            seen.setdefault(session.user_id, session.user)
        return list(seen.values())

    def _presence(self) -> dict[int, str]:
        status = {user_id: self.status.get(user_id, "online") for user_id in self.roster}
        for session in self.members:
            status[session.user_id] = session.presence
        return status

    def _resync_local_members(self, restarts: int) -> None:
        """Tell every local session that thinks it is in this room to join again."""
        frames: dict[Codec, bytes | str] = {}
        for session in self.hub.sessions_in(self.name):
            data = frames.get(session.codec)
            if data is None:
                data = frames[session.codec] = encode(Resync(room=self.name), session.codec)
            session.send(data)
            session.forget_room(self.name)
        self.members.clear()
        self.tabs.clear()
        self.presence.wake()  # they are no longer here until they join again
        if restarts:
            log.warning("room_restarted", room=self.name, restarts=restarts)

    # -- ephemeral events -------------------------------------------------------------------

    def _on_typing(self, session: Session, typing: bool) -> None:
        if session not in self.members:
            return
        user_id = session.user_id
        was_typing = user_id in self.typing
        if typing:
            self.typing[user_id] = trio.current_time() + TYPING_TTL
        else:
            self.typing.pop(user_id, None)
        if typing != was_typing:
            self._typing_event(user_id, typing, exclude=session)

    def _expire_typing(self, now: float) -> None:
        for user_id, deadline in list(self.typing.items()):
            if deadline <= now:
                del self.typing[user_id]
                self._typing_event(user_id, False, exclude=None)

    def _typing_event(self, user_id: int, typing: bool, exclude: Session | None) -> None:
        event = {"type": "typing", "room": self.name, "userId": user_id, "typing": typing}
        self._broadcast(event, durable=False, exclude_user=user_id if exclude else None)
        self.outbox.publish(event)

    def _on_presence(self, session: Session) -> None:
        if session not in self.members:
            return
        event = {
            "type": "presence",
            "userId": session.user_id,
            "status": session.presence,
            "room": self.name,
        }
        self.status[session.user_id] = session.presence
        self._broadcast(event, durable=False, exclude_user=session.user_id)
        self.outbox.publish(event)

    def _on_remote_ephemeral(self, payload: bytes) -> None:
        """Typing or presence from another node (our own echo is skipped)."""
        origin, event = decode_ephemeral(payload)
        if origin == self.hub.origin:
            return
        user_id = int(event["userId"])
        if event["type"] == "presence":
            self.status[user_id] = event["status"]
            self._broadcast(event, durable=False, exclude_user=user_id)
        elif event["type"] == "typing":
            self._broadcast(event, durable=False, exclude_user=user_id if event["typing"] else None)

    # -- fan-out ----------------------------------------------------------------------------

    def _broadcast(
        self, event: dict[str, Any], *, durable: bool, exclude_user: int | None = None
    ) -> int:
        """Encode once per codec in use, write the same frame to every member. Members
        whose connection has closed (their leave lost to a full mailbox) are dropped."""
        frames: dict[Codec, bytes] = {}
        sent = 0
        gone: list[Session] = []
        targets = len(self.members) - (self.tabs.get(exclude_user, 0) if exclude_user else 0)
        for session in self.members:
            if exclude_user is not None and session.user_id == exclude_user:
                continue
            codec = session.codec
            data = frames.get(codec)
            if data is None:
                data = frames[codec] = frame(codec.dumps(event))
            if session.conn.send_frame(data, durable=durable):
                sent += 1
            elif session.closed:
                gone.append(session)
        for session in gone:
            self._on_leave(session)
        dropped = 0 if durable else max(0, targets - sent - len(gone))
        self.hub.metrics.fanout(sent, event["type"], dropped)
        return sent
