"""A protocol-speaking WebSocket client for tests (trio-websocket + the protocol package)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from protocol import MAX_SERVER_FRAME_BYTES, MSGPACK, decode_server, encode


class Client:
    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.seen: list[Any] = []
        self.unclaimed: list[Any] = []  # received, skipped by an ``expect`` for another kind

    async def send(self, message: Any) -> None:
        await self.ws.send_message(encode(message, MSGPACK))

    async def recv(self) -> Any:
        message = decode_server(await self.ws.get_message(), MSGPACK)
        self.seen.append(message)
        return message

    async def expect(self, kind: type, **fields: Any) -> Any:
        """The first message of ``kind`` whose fields match, in arrival order. Messages it
        passes over are kept for later ``expect`` calls (an ack and a broadcast may arrive
        in either order)."""

        def matches(message: Any) -> bool:
            return isinstance(message, kind) and all(
                getattr(message, k) == v for k, v in fields.items()
            )

        for index, message in enumerate(self.unclaimed):
            if matches(message):
                return self.unclaimed.pop(index)
        while True:
            message = await self.recv()
            if matches(message):
                return message
            self.unclaimed.append(message)


@asynccontextmanager
async def connect(url: str, token: str | None = None, **kwargs: Any) -> AsyncIterator[Client]:
    """Open a msgpack client, authenticated with ``token`` (query string)."""
    target = f"{url}?token={token}" if token else url
    async with open_websocket_url(
        target,
        subprotocols=["pitchey.v1.msgpack"],
        max_message_size=MAX_SERVER_FRAME_BYTES,
        **kwargs,
    ) as ws:
        yield Client(ws)


async def welcomed(client: Client) -> Any:
    with trio.fail_after(5):
        return await client.recv()
