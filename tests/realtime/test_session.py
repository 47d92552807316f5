"""Session limits and timers on a real node: heartbeat, token expiry, connection and rate
limits. Timed behaviour runs on virtual time (the ``autojump`` MockClock)."""

from __future__ import annotations

import pytest
import trio
from trio_websocket import ConnectionClosed
from ws_client import connect, welcomed
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from protocol import (
    Ack,
    Auth,
    AuthExpiring,
    ErrorCode,
    ErrorMessage,
    Ping,
    Pong,
)
from storage import issue_access_token

from support import JWT_SECRET, RunningNode, make_user


async def _closed_code(client) -> int:
    with pytest.raises(ConnectionClosed) as caught:
        while True:
            await client.recv()
    return caught.value.reason.code


async def test_client_answering_pings_survives_heartbeats(
    node: RunningNode, storage, autojump
) -> None:
    user = await make_user(storage)
    async with connect(node.ws, user.token) as client:
        await welcomed(client)
        await trio.sleep(95)  # several 20 s heartbeats; trio-websocket answers each ping
        await client.send(Ping(id="alive"))
        assert await client.expect(Pong) == Pong(id="alive")


async def test_silent_client_is_closed_after_the_heartbeat_timeout(
    node: RunningNode, storage, autojump
) -> None:
    user = await make_user(storage)
    stream = await trio.open_tcp_stream("127.0.0.1", node.addresses.ws_port)
    ws = WSConnection(ConnectionType.CLIENT)
    target = f"/ws?token={user.token}"
    await stream.send_all(ws.send(Request(host="127.0.0.1", target=target)))
    started = trio.current_time()  # reset at the upgrade: admission may take virtual time
    closed_with = None
    with trio.fail_after(120):
        while closed_with is None:  # read, but never answer a ping
            data = await stream.receive_some(65536)
            if not data:
                break
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, CloseConnection):
                    closed_with = event.code
                if isinstance(event, AcceptConnection):
                    assert event.subprotocol is None
                    started = trio.current_time()
    elapsed = trio.current_time() - started
    with trio.fail_after(60):  # never answer the close either: the server hangs up
        while await stream.receive_some(65536):
            pass
    hung_up = trio.current_time() - started - elapsed
    await stream.aclose()
    assert closed_with == 1001
    # A ping at 20 s, no pong within 10 s. (Virtual time may jump to another timer while
    # real I/O is slow on a loaded machine, hence the slack.)
    assert 27 <= elapsed <= 35
    assert 4 <= hung_up <= 7  # the close timeout (5 s), not the peer, ends the connection


async def test_expiring_token_is_warned_then_closed_with_4401(
    node: RunningNode, storage, autojump
) -> None:
    user = await make_user(storage)
    token, _ = issue_access_token(
        JWT_SECRET, user_id=user.id, user_type="investor", token_version=0, ttl=180
    )
    async with connect(node.ws, token) as client:
        await welcomed(client)
        begun = trio.current_time()
        await client.expect(AuthExpiring)
        warned = trio.current_time() - begun
        code = await _closed_code(client)
        closed = trio.current_time() - begun
    assert 115 <= warned <= 125
    assert code == 4401
    assert 175 <= closed <= 185


async def test_fresh_token_extends_the_session(node: RunningNode, storage, autojump) -> None:
    user = await make_user(storage)
    short, _ = issue_access_token(
        JWT_SECRET, user_id=user.id, user_type="investor", token_version=0, ttl=120
    )
    async with connect(node.ws, short) as client:
        await welcomed(client)
        await client.expect(AuthExpiring)
        await client.send(Auth(id="renew", token=user.token))  # valid for 15 minutes
        assert await client.expect(Ack, id="renew") == Ack(id="renew")
        await trio.sleep(300)
        await client.send(Ping(id="still"))
        assert await client.expect(Pong) == Pong(id="still")


async def test_token_of_another_user_closes_with_4403(node: RunningNode, storage) -> None:
    user, other = await make_user(storage), await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            await client.send(Auth(id="swap", token=other.token))
            error = await client.expect(ErrorMessage)
            code = await _closed_code(client)
    assert error.code == ErrorCode.FORBIDDEN and code == 4403


async def test_invalid_token_in_auth_keeps_the_connection(node: RunningNode, storage) -> None:
    user = await make_user(storage)
    with trio.fail_after(10):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            await client.send(Auth(id="bad", token="not-a-token"))
            error = await client.expect(ErrorMessage)
            await client.send(Ping(id=1))
            assert await client.expect(Pong) == Pong(id=1)
    assert error.code == ErrorCode.UNAUTHORIZED


async def test_eleventh_connection_of_a_user_is_closed_with_4409(
    node: RunningNode, storage
) -> None:
    user = await make_user(storage)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            ready = trio.Event()
            count = 0

            async def hold() -> None:
                nonlocal count
                async with connect(node.ws, user.token) as client:
                    await welcomed(client)
                    count += 1
                    if count == 10:
                        ready.set()
                    await trio.sleep_forever()

            for _ in range(10):
                nursery.start_soon(hold)
            await ready.wait()
            async with connect(node.ws, user.token) as eleventh:
                error = await eleventh.expect(ErrorMessage)
                code = await _closed_code(eleventh)
            nursery.cancel_scope.cancel()
    assert error.code == ErrorCode.TOO_MANY_CONNECTIONS and code == 4409


async def test_message_flood_is_rate_limited_then_closed_with_4429(
    node: RunningNode, storage
) -> None:
    user = await make_user(storage)
    with trio.fail_after(20):
        async with connect(node.ws, user.token) as client:
            await welcomed(client)
            for n in range(60):
                await client.send(Ping(id=n))
            replies = [await client.recv() for _ in range(60)]
            limited = [r for r in replies if isinstance(r, ErrorMessage)]
            assert 5 <= len(limited) <= 15  # a burst of 50 passes, the rest is refused
            assert all(r.code == ErrorCode.RATE_LIMITED for r in limited)
            for n in range(150):
                await client.send(Ping(id=n))
            code = await _closed_code(client)
    assert code == 4429
