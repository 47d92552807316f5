"""A node: embedded servers (if needed), storage, HTTP and WebSocket under one nursery.

Start order: embedded servers → storage (pool, Redis, migrations, demo data) → bus and
node lease → rooms, the domain event relay, the NDA workflow (shard leases, timers),
listeners.

Drain on SIGINT/SIGTERM, all within ``drain_timeout``: ``/ready`` turns 503, both
listeners stop accepting, every client gets ``goaway`` (jittered ``retryAfterMs``) and its
socket is closed with 1001 once the message in hand is answered, in-flight HTTP requests
finish. Then the rooms stop (before the bus, so none outlives it), the node leaves
presence (``member_left`` for its members present nowhere else) and gives up its lease,
and storage closes; embedded servers stop last. A second signal cancels the drain at once.
"""

from __future__ import annotations

import gc
import logging
import signal
from dataclasses import dataclass
from functools import partial

import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as serve_http

from http_api import AppDeps, create_app, seed_demo
from storage import Bus, Storage, apply_migrations

from ._admission import Admitter
from ._domain_relay import relay_domain_events
from ._hub import Hub
from ._lease_keeper import NodeLeaseKeeper
from ._metrics import open_node_registry
from ._nda_workflow import NdaWorkflow
from ._node_storage import open_configured_storage
from ._session import serve_session
from ._settings import Settings, ensure_jwt_secret
from ._supervisor import Supervisor
from ._ws_server import WebSocketServer

log = structlog.get_logger("realtime.node")


@dataclass(frozen=True, slots=True)
class NodeAddresses:
    http_port: int
    ws_port: int


class Node:
    """One Pitchey node process. ``run`` returns after a graceful shutdown."""

    def __init__(self, settings: Settings, *, demo: bool = False) -> None:
        self.settings = settings
        self.demo = demo
        self._shutdown = trio.Event()
        self.hub: Hub | None = None
        self.ndas: NdaWorkflow | None = None
        self.lease_keeper: NodeLeaseKeeper | None = None

    @property
    def shutting_down(self) -> bool:
        return self._shutdown.is_set()

    def request_shutdown(self) -> None:
        self._shutdown.set()

    async def run(
        self, *, task_status: trio.TaskStatus[NodeAddresses] = trio.TASK_STATUS_IGNORED
    ) -> None:
        if self.settings.jwt_secret is None:
            self.settings = ensure_jwt_secret(self.settings)
        try:
            async with open_configured_storage(self.settings) as storage:
                await apply_migrations(storage)
                if self.demo:
                    await seed_demo(storage)
                await self._serve(storage, task_status)
        finally:
            log.info("node_stopped")

    async def _serve(self, storage: Storage, task_status: trio.TaskStatus[NodeAddresses]) -> None:
        s = self.settings
        assert s.jwt_secret is not None
        bus = Bus(storage)
        rooms = Supervisor("rooms", max_restarts=50, within=10.0)
        hub = Hub(storage, bus, rooms, s.node_id)
        self.ndas = ndas = NdaWorkflow(storage)
        registry = open_node_registry(s.node_id, hub, bus, storage, [rooms, ndas.supervisor])
        keeper = NodeLeaseKeeper(storage, hub, ttl_ms=s.lease_ttl_ms)
        self.lease_keeper = keeper

        def readiness() -> dict[str, str | None]:
            return {
                "bus": None if bus.healthy else "reconnecting to Redis",
                "lease": None if keeper.healthy else "lease not renewed",
                "node": "draining" if hub.draining else None,
            }

        app = create_app(
            AppDeps(
                storage,
                s.node_id,
                s.allowed_origins,
                jwt_secret=s.jwt_secret,
                ws_port=lambda: ws.port,  # ``ws`` is bound below, before the app serves
                metrics_registry=registry,
                readiness=readiness,
            )
        )
        admitter = Admitter(storage, jwt_secret=s.jwt_secret, allowed_origins=s.allowed_origins)
        ws = WebSocketServer(
            admitter,
            partial(serve_session, hub=hub, admitter=admitter),
            host=s.host,
            port=s.ws_port,
        )
        self.hub = hub
        http_stopped = trio.Event()
        http_done = trio.Event()

        async def run_http(*, task_status: trio.TaskStatus[list[str]]) -> None:
            try:
                await serve_http(
                    app,
                    _hypercorn_config(s),
                    shutdown_trigger=http_stopped.wait,
                    task_status=task_status,
                )
            finally:
                http_done.set()
                log.info("http_stopped")

        # Two nurseries: the bus and the lease outlive everything that uses them.
        async with trio.open_nursery() as base:
            await base.start(bus.run)
            await base.start(keeper.run)
            async with trio.open_nursery() as nursery:
                await nursery.start(rooms.run)
                await nursery.start(relay_domain_events, storage, hub)
                await nursery.start(ndas.run)
                ws_port = await nursery.start(ws.run)
                binds = await nursery.start(run_http)
                http_port = int(binds[0].rsplit(":", 1)[1])
                gc.collect()
                gc.freeze()  # start-up objects never become garbage: keep them out of GC
                log.info("node_ready", http_port=http_port, ws_port=ws_port, node=s.node_id)
                task_status.started(NodeAddresses(http_port, ws_port))
                await self._shutdown.wait()
                deadline = trio.current_time() + s.drain_timeout
                reserve = min(3.0, s.drain_timeout / 4)  # to close leftovers, leave presence
                await _drain(hub, ws, http_stopped, http_done, deadline, reserve)
                nursery.cancel_scope.cancel()  # rooms, relays, listeners: before the bus
            with trio.move_on_at(deadline):  # not shielded: a second signal skips it
                await keeper.release()
            base.cancel_scope.cancel()


async def _drain(
    hub: Hub,
    ws: WebSocketServer,
    http_stopped: trio.Event,
    http_done: trio.Event,
    deadline: float,
    reserve: float,
) -> None:
    """Goaway to every client, stop accepting, let in-flight work finish; connections
    still open ``reserve`` seconds before the deadline are closed with 1001."""
    log.info(
        "node_draining",
        deadline_s=round(deadline - trio.current_time(), 1),
        connections=hub.connection_count,
    )
    hub.draining = True
    ws.stop_accepting()
    http_stopped.set()
    for group in list(hub.sessions.values()):
        for session in list(group):
            session.goaway()
    with trio.move_on_at(deadline - reserve):
        await ws.wait_all_gone()
        await http_done.wait()
    await ws.drain(max(0.0, deadline - trio.current_time() - reserve / 2))
    log.info("node_drained", connections=hub.connection_count)


def _hypercorn_config(s: Settings) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"{s.host}:{s.port}"]
    config.graceful_timeout = s.drain_timeout
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 5
    return config


async def run_until_signalled(node: Node) -> None:
    """Run ``node``; the first SIGINT/SIGTERM drains it, a second one stops it at once."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for signum in signals:
                    if node.shutting_down:
                        log.warning("node_forced_stop", signal=signal.Signals(signum).name)
                        nursery.cancel_scope.cancel()
                        return
                    log.info("node_signal", signal=signal.Signals(signum).name)
                    node.request_shutdown()

            nursery.start_soon(watch)
            await node.run()
            nursery.cancel_scope.cancel()
