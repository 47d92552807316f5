"""The realtime side of a Pitchey node, and the node itself (the ``pitchey`` command)."""

from ._actor import ActorRef, ActorStopped, AskTimeout, Mailbox, MailboxFull, Reply, ask_within
from ._cli import main
from ._hub import Hub
from ._metrics import Metrics
from ._nda_workflow import NdaWorkflow
from ._node import Node, NodeAddresses, run_until_signalled
from ._registry import Registry
from ._settings import ConfigError, Settings, ensure_jwt_secret, load_settings
from ._supervisor import Restart, Supervisor, SupervisorEscalation, TooManyChildren
from ._ws_server import WS_PATH, WebSocketServer
from ._ws_transport import ConnectionClosed, WsConnection

__all__ = [
    "WS_PATH",
    "ActorRef",
    "ActorStopped",
    "AskTimeout",
    "ConfigError",
    "ConnectionClosed",
    "Hub",
    "Mailbox",
    "MailboxFull",
    "Metrics",
    "NdaWorkflow",
    "Node",
    "NodeAddresses",
    "Registry",
    "Reply",
    "Restart",
    "Settings",
    "Supervisor",
    "SupervisorEscalation",
    "TooManyChildren",
    "WebSocketServer",
    "WsConnection",
    "ask_within",
    "ensure_jwt_secret",
    "load_settings",
    "main",
    "run_until_signalled",
]
