"""Property-based fuzzing of a live session: whatever a client sends, the node answers or
closes with a protocol close code, and keeps serving everyone.

Hypothesis drives synchronous tests, so the node runs in its own trio loop on a thread for
the module, and each example talks to it from a fresh ``trio.run``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import msgpack
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, open_websocket_url

from protocol import (
    MAX_SERVER_FRAME_BYTES,
    MSGPACK,
    ErrorCode,
    ErrorMessage,
    Ping,
    Pong,
    decode_server,
    encode,
)
from realtime import Node
from storage import open_storage

from support import Servers, make_pitch, make_user, node_settings

ACCEPTABLE_CLOSES = {1003, 1009, 4429}
KINDS = ["join", "leave", "chat", "typing", "presence", "pitch_update", "auth", "ping", "x"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
maps = st.fixed_dictionaries(
    {"type": st.sampled_from(KINDS)},
    optional={
        "id": values,
        "room": st.sampled_from(["pitch:1", "conversation:1", "pitch:0", "nope"]) | values,
        "body": values,
        "clientId": values,
        "since": values,
        "typing": values,
        "status": values,
        "version": values,
        "fields": values,
        "token": values,
    },
)
frames = st.one_of(
    st.binary(max_size=200),
    maps.map(lambda m: msgpack.packb(m, use_bin_type=True)),
    st.text(max_size=60),
)


@pytest.fixture(scope="module")
def live_node(servers: Servers) -> Iterator[tuple[str, str]]:
    """A node on a thread; yields its WebSocket URL and a valid token."""
    settings_ = node_settings(servers, DRAIN_TIMEOUT="2")
    node = Node(settings_)
    ready = threading.Event()
    found: dict = {}

    async def prepare() -> None:
        async with open_storage(servers.database_url, servers.redis_url, pool_size=1) as s:
            user = await make_user(s, "creator")
            await make_pitch(s, user)
        found["token"] = user.token

    async def run() -> None:
        found["trio_token"] = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            found["addresses"] = await nursery.start(node.run)
            ready.set()

    trio.run(prepare)
    thread = threading.Thread(target=trio.run, args=(run,), daemon=True)
    thread.start()
    assert ready.wait(60), "node did not start"
    yield f"ws://127.0.0.1:{found['addresses'].ws_port}/ws", found["token"]
    trio.from_thread.run_sync(node.request_shutdown, trio_token=found["trio_token"])
    thread.join(30)


async def _exchange(url: str, token: str, batch: list[bytes | str]) -> None:
    with trio.fail_after(20):
        async with open_websocket_url(
            f"{url}?token={token}", max_message_size=MAX_SERVER_FRAME_BYTES
        ) as ws:
            await ws.get_message()  # welcome
            try:
                for data in batch:
                    await ws.send_message(data)
                await ws.send_message(encode(Ping(id="end"), MSGPACK))
                while True:
                    reply = decode_server(await ws.get_message(), MSGPACK)
                    if reply == Pong(id="end"):
                        return
                    internal = isinstance(reply, ErrorMessage) and reply.code == ErrorCode.INTERNAL
                    assert not internal, reply
            except ConnectionClosed as closed:
                assert closed.reason.code in ACCEPTABLE_CLOSES, closed.reason


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(frames, min_size=1, max_size=8))
def test_any_frames_get_answers_and_the_node_keeps_serving(
    live_node: tuple[str, str], batch: list[bytes | str]
) -> None:
    url, token = live_node
    trio.run(_exchange, url, token, batch)


def test_node_still_serves_after_the_fuzz_run(live_node: tuple[str, str]) -> None:
    url, token = live_node
    trio.run(_exchange, url, token, [])
