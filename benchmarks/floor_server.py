"""The floor for the fan-out benchmark: a bare trio-websocket broadcast server.

No application logic (no auth, no rooms, no sequence, no storage): every message a client
sends is sent to every connected client, the sender included (as the product does with
chat), with trio-websocket's ``send_message``, one awaited send per member. Like the node it
runs ``gc.freeze()`` once it listens, so start-up objects stay out of GC passes.
Run: ``python benchmarks/floor_server.py PORT``; it prints ``listening`` when ready.
"""

from __future__ import annotations

import gc
import sys
from functools import partial

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

connections: set[WebSocketConnection] = set()


async def handler(request: WebSocketRequest) -> None:
    ws = await request.accept(subprotocol=(request.proposed_subprotocols or (None,))[0])
    connections.add(ws)
    try:
        while True:
            message = await ws.get_message()
            for member in list(connections):
                try:
                    await member.send_message(message)
                except ConnectionClosed:
                    connections.discard(member)
    except ConnectionClosed:
        pass
    finally:
        connections.discard(ws)


async def main(port: int) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(serve_websocket, handler, "127.0.0.1", port, ssl_context=None))
        gc.collect()
        gc.freeze()
        print(f"floor listening on 127.0.0.1:{port}", flush=True)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]))
