"""A name → value table for named actors (rooms by id, sessions by user).

Plain dict semantics and no awaits. Trio switches tasks only at checkpoints (``await``), so
a ``get`` followed by a ``register`` is atomic as long as no ``await`` separates them. That is
the whole get-or-start pattern: check, then claim the name, *then* await::

    ref = rooms.get(room_id)
    if ref is None:
        mailbox = Mailbox[RoomMsg](f"room:{room_id}", capacity=256)  # no await yet
        rooms.register(room_id, mailbox.ref)  # claimed: racing callers now find it
        try:
            await supervisor.start_child(room_id, serve_room, mailbox, restart=Restart.TEMPORARY)
        except BaseException:
            rooms.unregister(room_id, mailbox.ref)
            mailbox.close()
            raise
        ref = mailbox.ref  # messages told before the actor is up simply wait in the mailbox

The actor unregisters itself on the way out with its own value, so it never removes a
successor: ``finally: rooms.unregister(room_id, mailbox.ref)``.

A restartable actor (permanent / transient) needs a fresh mailbox per incarnation (closing
the old one is what fails its unanswered asks), so it registers its own ref before calling
``task_status.started`` and unregisters it in ``finally``. Between a crash and the restart
``get`` returns ``None``; a racing ``start_child`` for the same key gets ``ValueError``,
because the supervisor also claims the key before its first await.
"""

from __future__ import annotations

from collections.abc import Hashable, ItemsView
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Registry(Generic[K, V]):
    """Unique names for live values; ``unregister`` only removes the value it is given."""

    def __init__(self, name: str = "registry") -> None:
        self.name = name
        self._entries: dict[K, V] = {}

    def __repr__(self) -> str:
        return f"<Registry {self.name!r} {len(self._entries)} entries>"

    def get(self, key: K) -> V | None:
        """The value registered under ``key``, or ``None``."""
        return self._entries.get(key)

    def register(self, key: K, value: V) -> None:
        """Claim ``key`` for ``value``; ``ValueError`` if the key is taken."""
        if key in self._entries:
            raise ValueError(f"{self.name}: {key!r} is already registered")
        self._entries[key] = value

    def unregister(self, key: K, value: V) -> bool:
        """Remove ``key`` only if it still maps to this very ``value``; True if removed."""
        if key in self._entries and self._entries[key] is value:
            del self._entries[key]
            return True
        return False

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> ItemsView[K, V]:
        """A live view; copy it (``list(...)``) before awaiting while iterating."""
        return self._entries.items()
