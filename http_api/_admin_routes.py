"""Operator routes, for admin accounts only.

``GET /api/admin/nodes`` lists the live nodes of the deployment from their leases in Redis
(see ``storage._node_lease``): each node's id, lease, open connections and rooms as of its
last renewal (every few seconds), when it started and when its lease runs out.
"""

from __future__ import annotations

from quart import Blueprint

from storage import list_live_nodes

from ._auth import require_user
from ._context import deps
from ._schema import Ok, Schema, responds

blueprint = Blueprint("admin", __name__)


class NodeOut(Schema):
    node: str
    lease: str
    connections: int
    rooms: int
    started_at: int  # ms since the epoch
    lease_expires_at: int  # ms since the epoch (Redis clock)


@blueprint.get("/api/admin/nodes")
@responds(Ok[list[NodeOut]])
async def nodes() -> Ok[list[NodeOut]]:
    """The live nodes, with their connection and room counts (admin accounts only)."""
    await require_user("admin")
    live = await list_live_nodes(deps().storage)
    return Ok(
        data=[
            NodeOut(
                node=n.node,
                lease=n.lease,
                connections=n.connections,
                rooms=n.rooms,
                started_at=n.started_at,
                lease_expires_at=n.expires_at,
            )
            for n in live
        ]
    )
