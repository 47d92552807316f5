"""Three node processes on this run's PostgreSQL and Redis, shared by a module's tests.

Nodes use short leases (``NODE_LEASE_TTL_MS=1500``) so a killed node is noticed in about
two seconds; the defaults (10 s) meet the 15 s bound, which ``test_lease_keeper`` shows on
virtual time. A test that kills or drains a node gets it back with ``cluster.restore()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cluster_support import NodeProcess, node_env, start_nodes, stop_nodes

from support import Servers


@dataclass
class Cluster:
    nodes: list[NodeProcess]

    def restore(self) -> None:
        """Every node running and ready (restarting the ones a test stopped)."""
        start_nodes(self.nodes)


@pytest.fixture(scope="module")
def cluster(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    logs = tmp_path_factory.mktemp("cluster-logs")
    env = node_env(servers.database_url, servers.redis_url, servers.key_prefix)
    nodes = [NodeProcess(f"node-{i}", env, logs) for i in range(3)]
    try:
        start_nodes(nodes)
        yield Cluster(nodes)
    finally:
        stop_nodes(nodes)
