"""A node in-process: WebSocket ping, subprotocols, graceful drain."""

from __future__ import annotations

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from protocol import MSGPACK, ErrorCode, ErrorMessage, Ping, Pong, decode_server, encode

from support import RunningNode


async def test_ping_gets_pong_with_the_same_id(node: RunningNode) -> None:
    with trio.fail_after(10):
        async with open_websocket_url(node.ws, subprotocols=["pitchey.v1.msgpack"]) as ws:
            assert ws.subprotocol == "pitchey.v1.msgpack"
            await ws.send_message(encode(Ping(id="p1"), MSGPACK))
            reply = decode_server(await ws.get_message(), MSGPACK)
    assert reply == Pong(id="p1")


async def test_malformed_frame_gets_an_error_and_the_socket_stays_open(node: RunningNode) -> None:
    with trio.fail_after(10):
        async with open_websocket_url(node.ws) as ws:
            await ws.send_message(b"\xc1 not msgpack")
            error = decode_server(await ws.get_message(), MSGPACK)
            await ws.send_message(encode(Ping(id=2), MSGPACK))
            pong = decode_server(await ws.get_message(), MSGPACK)
    assert isinstance(error, ErrorMessage) and error.code == ErrorCode.BAD_REQUEST
    assert pong == Pong(id=2)


async def test_json_subprotocol_uses_text_frames(node: RunningNode) -> None:
    with trio.fail_after(10):
        async with open_websocket_url(node.ws, subprotocols=["pitchey.v1.json"]) as ws:
            await ws.send_message('{"type": "ping", "id": "j"}')
            reply = await ws.get_message()
    assert isinstance(reply, str) and '"pong"' in reply


async def test_other_paths_are_refused(node: RunningNode) -> None:
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with open_websocket_url(node.ws.replace("/ws", "/elsewhere")):
            pass
    assert caught.value.status_code == 404


async def test_unknown_subprotocol_is_refused(node: RunningNode) -> None:
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with open_websocket_url(node.ws, subprotocols=["graphql-ws"]):
            pass
    assert caught.value.status_code == 400


async def test_drain_closes_sockets_with_1001_and_stops_http(node: RunningNode) -> None:
    with trio.fail_after(15):
        async with open_websocket_url(node.ws) as ws:
            node.node.request_shutdown()
            with pytest.raises(ConnectionClosed) as caught:
                await ws.get_message()
        assert caught.value.reason.code == 1001
        while True:  # the HTTP listener goes away once the drain completes
            try:
                async with httpx.AsyncClient(base_url=node.http) as client:
                    await client.get("/health")
            except httpx.ConnectError:
                break
            await trio.sleep(0.05)
