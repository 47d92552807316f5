"""The hub: this node's rooms and sessions, and the way from one to the other.

Rooms are started on first join under a one-for-one supervisor (transient: a crashed room
restarts, an idle one that stopped stays stopped) and found by name. Sessions are indexed
by user, for per-user connection limits and notification delivery.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import structlog
import trio

from storage import Bus, Storage, new_lease_name

from ._metrics import Metrics
from ._registry import Registry
from ._room import Room
from ._supervisor import Restart, Supervisor

if TYPE_CHECKING:
    from ._session import Session

log = structlog.get_logger("realtime.hub")

RESTART_POLL = 0.05


class Hub:
    def __init__(self, storage: Storage, bus: Bus, supervisor: Supervisor, node_id: str) -> None:
        self.storage = storage
        self.bus = bus
        self.supervisor = supervisor
        self.node_id = node_id
        # The lease this node records room presence under (``NodeLeaseKeeper`` renews it
        # and replaces it if it is lost); ``origin`` marks the ephemeral events it publishes.
        self.lease = new_lease_name(node_id)
        self.origin = f"{node_id}/{secrets.token_hex(4)}"
        self.metrics = Metrics()
        self.draining = False  # set by the node's drain: new sessions get goaway at once
        self.rooms: Registry[str, Room] = Registry()
        self.sessions: dict[int, set[Session]] = {}
        self._starting: dict[str, trio.Event] = {}

    async def room(self, name: str) -> Room:
        """The running room ``name``, started if need be (concurrent callers share one)."""
        while True:
            room = self.rooms.get(name)
            if room is not None:
                return room
            starting = self._starting.get(name)
            if starting is not None:
                await starting.wait()
            elif self.supervisor.has_child(name):
                await trio.sleep(RESTART_POLL)  # crashed, waiting out its restart backoff
            else:
                break
        done = self._starting[name] = trio.Event()
        try:
            return await self.supervisor.start_child(
                name, _run_room, self, name, restart=Restart.TRANSIENT
            )
        finally:
            del self._starting[name]
            done.set()

    def release_room(self, room: Room) -> bool:
        """Forget an idle room, unless it is no longer the registered one or has members."""
        if self.rooms.get(room.name) is not room or room.members:
            return False
        self.rooms.unregister(room.name, room)
        return True

    def sessions_in(self, room: str) -> list[Session]:
        return [s for group in self.sessions.values() for s in group if room in s.rooms]

    def add_session(self, session: Session) -> int:
        """Register a session; returns how many sessions its user now has on this node."""
        group = self.sessions.setdefault(session.user_id, set())
        group.add(session)
        return len(group)

    def remove_session(self, session: Session) -> None:
        group = self.sessions.get(session.user_id)
        if group is not None:
            group.discard(session)
            if not group:
                del self.sessions[session.user_id]

    def lease_changed(self, lease: str) -> None:
        """The node holds ``lease`` now: every room records its members under it."""
        self.lease = lease
        for _, room in list(self.rooms.items()):
            room.lease_changed()

    @property
    def connection_count(self) -> int:
        return sum(len(group) for group in self.sessions.values())


async def _run_room(
    hub: Hub, name: str, *, task_status: trio.TaskStatus[Room], restarts: int = 0
) -> None:
    """A room's life as a supervised child: a fresh Room (state rebuilt) on every start."""
    room = Room(name, hub)
    hub.rooms.register(name, room)
    try:
        await room.run(task_status=task_status, restarts=restarts)
    finally:
        hub.rooms.unregister(name, room)
