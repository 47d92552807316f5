"""The realtime side of a Pitchey node, and the node itself (the ``pitchey`` command)."""

from ._cli import main
from ._node import Node, NodeAddresses, run_until_signalled
from ._settings import ConfigError, Settings, ensure_jwt_secret, load_settings
from ._ws_server import WS_PATH, WebSocketServer

__all__ = [
    "WS_PATH",
    "ConfigError",
    "Node",
    "NodeAddresses",
    "Settings",
    "WebSocketServer",
    "ensure_jwt_secret",
    "load_settings",
    "main",
    "run_until_signalled",
]
