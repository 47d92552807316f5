"""What the handlers need from the node, reachable from the running app."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from storage import Storage


@dataclass(frozen=True, slots=True)
class AppDeps:
    storage: Storage
    node_id: str
    allowed_origins: tuple[str, ...]


def deps() -> AppDeps:
    """The dependencies of the app serving the current request."""
    return current_app.extensions["pitchey"]
