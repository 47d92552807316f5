"""A node in-process: admission at the upgrade, ping, subprotocols, graceful drain."""

from __future__ import annotations

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url
from ws_client import connect, welcomed

from protocol import MSGPACK, ErrorCode, ErrorMessage, GoAway, Ping, Pong, Welcome, decode_server
from storage import create_ws_ticket

from support import RunningNode, make_user


async def test_welcome_names_user_node_and_protocol(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    async with connect(node.ws, user.token) as client:
        welcome = await welcomed(client)
    assert isinstance(welcome, Welcome)
    assert welcome.user["id"] == user.id and welcome.protocol_version == 1
    assert welcome.node == node.node.settings.node_id


async def test_ping_gets_pong_with_the_same_id(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            assert client.ws.subprotocol == "pitchey.v1.msgpack"
            await welcomed(client)
            await client.send(Ping(id="p1"))
            assert await client.recv() == Pong(id="p1")


async def test_missing_credentials_are_refused_with_401(node: RunningNode) -> None:
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with open_websocket_url(node.ws):
            pass
    assert caught.value.status_code == 401


async def test_bad_token_is_refused_with_401(node: RunningNode) -> None:
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with connect(node.ws, "not.a.token"):
            pass
    assert caught.value.status_code == 401


async def test_ticket_opens_one_connection_only(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    ticket = await create_ws_ticket(storage, user.id)
    with trio.fail_after(10):
        async with open_websocket_url(f"{node.ws}?ticket={ticket}") as ws:
            welcome = decode(await ws.get_message())
            assert welcome.user["id"] == user.id
        with pytest.raises(ConnectionRejected) as caught:
            async with open_websocket_url(f"{node.ws}?ticket={ticket}"):
                pass
    assert caught.value.status_code == 401


async def test_bearer_header_authenticates(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    headers = [("Authorization", f"Bearer {user.token}")]
    with trio.fail_after(10):
        async with open_websocket_url(node.ws, extra_headers=headers) as ws:
            assert decode(await ws.get_message()).user["id"] == user.id


async def test_foreign_origin_is_refused_with_403(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    headers = [("Origin", "https://evil.example")]
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with connect(node.ws, user.token, extra_headers=headers):
            pass
    assert caught.value.status_code == 403


async def test_other_paths_are_refused(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with connect(node.ws.replace("/ws", "/elsewhere"), user.token):
            pass
    assert caught.value.status_code == 404


async def test_unknown_subprotocol_is_refused(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10), pytest.raises(ConnectionRejected) as caught:
        async with open_websocket_url(f"{node.ws}?token={user.token}", subprotocols=["x"]):
            pass
    assert caught.value.status_code == 400


async def test_json_subprotocol_uses_text_frames(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    url = f"{node.ws}?token={user.token}"
    with trio.fail_after(10):
        async with open_websocket_url(url, subprotocols=["pitchey.v1.json"]) as ws:
            assert '"welcome"' in await ws.get_message()
            await ws.send_message('{"type": "ping", "id": "j"}')
            reply = await ws.get_message()
    assert isinstance(reply, str) and '"pong"' in reply


async def test_malformed_frame_gets_an_error_and_the_socket_stays_open(
    node: RunningNode, storage
) -> None:
    user = await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            await client.ws.send_message(b"\xc1 not msgpack")
            error = await client.recv()
            await client.send(Ping(id=2))
            pong = await client.recv()
    assert isinstance(error, ErrorMessage) and error.code == ErrorCode.BAD_REQUEST
    assert pong == Pong(id=2)


async def test_oversized_frame_closes_with_1009(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            await client.ws.send_message(b"\x00" * (65 * 1024))
            with pytest.raises(ConnectionClosed) as caught:
                while True:
                    await client.recv()
    assert caught.value.reason.code == 1009


async def test_drain_says_goaway_closes_with_1001_and_stops_http(
    node: RunningNode, storage
) -> None:
    user = await make_user(storage)
    with trio.fail_after(15):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            node.node.request_shutdown()
            goaway = await client.recv()
            with pytest.raises(ConnectionClosed) as caught:
                await client.recv()
        assert isinstance(goaway, GoAway) and 1000 <= goaway.retry_after_ms <= 10000
        assert caught.value.reason.code == 1001
        while True:  # the HTTP listener goes away once the drain completes
            try:
                async with httpx.AsyncClient(base_url=node.http) as http:
                    await http.get("/health")
            except httpx.ConnectError:
                break
            await trio.sleep(0.05)


def decode(data: bytes | str):
    return decode_server(data, MSGPACK)
