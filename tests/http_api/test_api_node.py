"""The HTTP API as a real node serves it: default limits, the node's WebSocket port."""

from __future__ import annotations

import secrets

import httpx
import trio

from support import RunningNode


async def test_node_serves_the_api_with_its_websocket_url(node: RunningNode) -> None:
    suffix = secrets.token_hex(5)
    with trio.fail_after(30):
        async with httpx.AsyncClient(base_url=node.http) as client:
            registered = await client.post(
                "/api/auth/register",
                json={"email": f"node-{suffix}@example.com", "username": f"node_{suffix}",
                      "password": "Node-pass-1", "userType": "investor"},
            )  # fmt: skip
            assert registered.status_code == 201
            assert registered.headers["X-RateLimit-Limit"] == "20"
            token = registered.json()["data"]["accessToken"]
            ticket = await client.get("/api/ws/token", headers={"Authorization": f"Bearer {token}"})
    assert ticket.status_code == 200
    assert ticket.headers["X-RateLimit-Limit"] == "200"
    assert ticket.json()["data"]["wsUrl"] == f"ws://127.0.0.1:{node.addresses.ws_port}/ws"
