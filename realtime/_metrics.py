"""A node's metrics: plain counters on the hot path, Prometheus families at scrape time.

Realtime code only increments integers and dict entries (a fan-out counts its deliveries
once per broadcast, never per recipient); :class:`NodeCollector` turns them, and the gauges
it reads from the hub, the supervisors, the bus and the pool, into Prometheus families when
``GET /metrics`` is scraped. Every node has its own ``CollectorRegistry`` (several nodes in
one test process must not share the global one), and every series carries ``node``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from storage import Bus, Storage

    from ._hub import Hub
    from ._supervisor import Supervisor

PUBLISH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class Metrics:
    """Counters a node keeps about its realtime traffic (plain ints: cheap to bump)."""

    deliveries: int = 0
    broadcasts: int = 0
    messages_in: int = 0  # every frame read, valid or not
    inbound: Counter[str] = field(default_factory=Counter)  # valid messages by kind
    outbound: Counter[str] = field(default_factory=Counter)  # messages written, by kind
    dropped_ephemeral: int = 0
    slow_consumer_closes: int = 0

    def fanout(self, delivered: int, kind: str = "event", dropped: int = 0) -> None:
        """One broadcast that reached ``delivered`` members (counted once per batch)."""
        self.broadcasts += 1
        self.deliveries += delivered
        self.outbound[kind] += delivered
        self.dropped_ephemeral += dropped


class NodeCollector(Collector):
    """Reads a node's counters and gauges when the registry is scraped."""

    def __init__(
        self,
        node_id: str,
        hub: Hub,
        bus: Bus,
        storage: Storage,
        supervisors: list[Supervisor],
    ) -> None:
        self.node_id = node_id
        self.hub = hub
        self.bus = bus
        self.storage = storage
        self.supervisors = supervisors

    def collect(self) -> Iterator[Metric]:
        node, m, hub = self.node_id, self.hub.metrics, self.hub
        info = GaugeMetricFamily("pitchey_node_info", "This node", labels=["node"])
        info.add_metric([node], 1)
        yield info
        yield _gauge("pitchey_connections", "Open WebSocket sessions", node, hub.connection_count)
        yield _gauge("pitchey_rooms", "Rooms with an actor on this node", node, len(hub.rooms))
        inbound = CounterMetricFamily(
            "pitchey_messages_in", "Client messages received, by kind", labels=["node", "kind"]
        )
        for kind, count in sorted(m.inbound.items()):
            inbound.add_metric([node, kind], count)
        inbound.add_metric([node, "invalid"], max(0, m.messages_in - sum(m.inbound.values())))
        yield inbound
        outbound = CounterMetricFamily(
            "pitchey_messages_out", "Server messages sent, by kind", labels=["node", "kind"]
        )
        for kind, count in sorted(m.outbound.items()):
            outbound.add_metric([node, kind], count)
        yield outbound
        yield _counter(
            "pitchey_fanout_deliveries", "Room events written to members", node, m.deliveries
        )
        yield _counter("pitchey_fanout_broadcasts", "Room broadcasts", node, m.broadcasts)
        yield _counter(
            "pitchey_ephemeral_dropped",
            "Typing/presence events dropped for members with a backlog",
            node,
            m.dropped_ephemeral,
        )
        yield _counter(
            "pitchey_slow_consumer_disconnects",
            "Connections closed with 4008 (slow consumer)",
            node,
            m.slow_consumer_closes,
        )
        restarts = CounterMetricFamily(
            "pitchey_actor_restarts", "Actor restarts", labels=["node", "supervisor"]
        )
        for supervisor in self.supervisors:
            restarts.add_metric([node, supervisor.name], supervisor.restarts)
        yield restarts
        depths = [room.mailbox.depth for _, room in list(hub.rooms.items())]
        yield _gauge(
            "pitchey_room_mailbox_depth", "Messages queued in room mailboxes", node, sum(depths)
        )
        yield _gauge(
            "pitchey_room_mailbox_depth_max",
            "Deepest room mailbox",
            node,
            max(depths, default=0),
        )
        yield _gauge("pitchey_bus_up", "1 while the bus is connected", node, int(self.bus.healthy))
        yield _counter(
            "pitchey_bus_reconnects", "Bus reconnections after an outage", node, self.bus.reconnects
        )
        size, idle, maximum = self.storage.pool_stats()
        pool = GaugeMetricFamily(
            "pitchey_db_pool_connections", "PostgreSQL pool connections", labels=["node", "state"]
        )
        pool.add_metric([node, "in_use"], size - idle)
        pool.add_metric([node, "idle"], idle)
        pool.add_metric([node, "max"], maximum)
        yield pool


def open_node_registry(
    node_id: str,
    hub: Hub,
    bus: Bus,
    storage: Storage,
    supervisors: list[Supervisor],
) -> CollectorRegistry:
    """A registry of its own for one node: its collector, and the bus publish latency
    histogram, which ``storage`` feeds on every room-log publish."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(NodeCollector(node_id, hub, bus, storage, supervisors))
    publish = Histogram(
        "pitchey_bus_publish_seconds",
        "Room log append + publish (one Redis script call)",
        ["node"],
        buckets=PUBLISH_BUCKETS,
        registry=registry,
    ).labels(node_id)
    storage.observe_publish = publish.observe
    return registry


def _gauge(name: str, documentation: str, node: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["node"])
    family.add_metric([node], value)
    return family


def _counter(name: str, documentation: str, node: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["node"])
    family.add_metric([node], value)
    return family
