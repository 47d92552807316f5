"""The floor for the fan-out benchmark: a bare trio-websocket broadcast server.

No application logic: every message a client sends is sent to every other connected client
with trio-websocket's ``send_message``. Run: ``python benchmarks/floor_server.py PORT``.
"""

from __future__ import annotations

import sys

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

connections: set[WebSocketConnection] = set()


async def handler(request: WebSocketRequest) -> None:
    ws = await request.accept(subprotocol=(request.proposed_subprotocols or (None,))[0])
    connections.add(ws)
    try:
        while True:
            message = await ws.get_message()
            for other in list(connections):
                if other is not ws:
                    try:
                        await other.send_message(message)
                    except ConnectionClosed:
                        connections.discard(other)
    except ConnectionClosed:
        pass
    finally:
        connections.discard(ws)


async def main(port: int) -> None:
    await serve_websocket(handler, "127.0.0.1", port, ssl_context=None)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]))
