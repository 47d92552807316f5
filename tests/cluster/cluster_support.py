"""Several ``pitchey serve`` processes on one PostgreSQL and Redis, and room members that
follow the protocol's reconnect rules across them.

A :class:`NodeProcess` is one node subprocess on free ports, logging JSON to a file. A
:class:`Member` is one connection's worth of client: it joins a room, checks that durable
events arrive with contiguous sequence numbers, sends chats and waits for their acks, and
when its connection ends it reconnects (to a node the test chooses, after ``goaway``'s
``retryAfterMs``, capped to keep tests short), re-joins with ``since`` and resends what
was not acknowledged with the same ``clientId``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, HandshakeError
from ws_client import connect

from protocol import ClientChat, Join

from support import JWT_SECRET, TestUser, free_port

GOAWAY_WAIT_CAP = 1.0  # seconds: tests honour retryAfterMs up to this much
DURABLE = frozenset({"chat", "member_joined", "member_left", "pitch_updated"})


class NodeProcess:
    """One ``python -m realtime serve`` subprocess."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.http_port = free_port()
        self.ws_port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
            **env,
            "NODE_ID": name,
            "PORT": str(self.http_port),
            "WS_PORT": str(self.ws_port),
            "LOG_FORMAT": "json",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "realtime", "serve"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive, f"{self.name} exited during start-up: {self.log_tail()}"
            try:
                if httpx.get(f"{self.http}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready within {timeout}s: {self.log_tail()}")

    def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def terminate(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"level": "raw", "event": line})
        return records

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])


def start_nodes(nodes: list[NodeProcess]) -> None:
    """Start every node that is not running (in parallel) and wait until all are ready."""
    for node in nodes:
        if not node.alive:
            node.start()
    for node in nodes:
        node.wait_ready()


def stop_nodes(nodes: list[NodeProcess]) -> None:
    for node in nodes:
        node.terminate()
    for node in nodes:
        if node.proc is not None:
            try:
                node.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                node.kill()


def node_metrics(nodes: list[NodeProcess]) -> dict[str, list[str]]:
    """A few of each live node's metrics, for failure messages."""
    wanted = ("pitchey_db_pool", "pitchey_room_mailbox", "pitchey_connections", "pitchey_bus_up")
    found = {}
    for node in nodes:
        try:
            text = httpx.get(f"{node.http}/metrics", timeout=2).text
        except httpx.TransportError as exc:
            found[node.name] = [repr(exc)]
            continue
        found[node.name] = [line for line in text.splitlines() if line.startswith(wanted)]
    return found


async def ready_status(node: NodeProcess) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{node.http}/ready")).status_code
    except httpx.TransportError:
        return None


async def wait_for(
    predicate: Callable[[], bool], within: float, what: str | Callable[[], str]
) -> float:
    """Poll ``predicate`` every 20 ms (it watches other processes: nothing to wait on);
    return the seconds it took, fail after ``within``."""
    started = trio.current_time()
    with trio.move_on_after(within):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.02)
        return trio.current_time() - started
    raise AssertionError(
        f"timed out after {within}s waiting for {what if isinstance(what, str) else what()}"
    )


async def start_members(nursery: trio.Nursery, members: list[Member]) -> None:
    """Run every member in ``nursery`` and return once each has joined its room."""
    for member in members:
        nursery.start_soon(member.run)
    for member in members:
        await member.joined()


@dataclass
class Member:
    """One client connection in ``room`` that reconnects across the nodes."""

    name: str
    user: TestUser
    room: str
    nodes: list[NodeProcess]
    node: int  # where it connects (the test may change it)
    events: list[tuple[int, str, Any]] = field(default_factory=list)  # (seq, type, key)
    errors: list[str] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    goaways: list[int] = field(default_factory=list)
    joins: list[dict[str, Any]] = field(default_factory=list)  # every `joined` received
    acked: dict[str, int] = field(default_factory=dict)
    unavailable: int = 0  # chats refused with `unavailable` (Redis away)
    last_seq: int | None = None
    first_seq: int | None = None
    abandoned: bool = False
    connected: bool = False

    def __post_init__(self) -> None:
        self._client: Any = None
        self._pending: dict[str, tuple[str, str]] = {}  # clientId -> (message id, body)
        self._acks: dict[str, trio.Event] = {}
        self._refused: dict[str, trio.Event] = {}
        self._joined = trio.Event()
        self._resume_at = 0.0

    # -- what tests look at -----------------------------------------------------------

    def seqs(self) -> list[int]:
        return [seq for seq, _, _ in self.events]

    def left(self) -> list[int]:
        return [key for _, kind, key in self.events if kind == "member_left"]

    def entered(self) -> list[int]:
        return [key for _, kind, key in self.events if kind == "member_joined"]

    def chats(self) -> dict[str, int]:
        return {key: seq for seq, kind, key in self.events if kind == "chat"}

    async def joined(self) -> None:
        await self._joined.wait()

    # -- running ----------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until cancelled or :meth:`abandon`; reconnect after every close."""
        while not self.abandoned:
            node = self.nodes[self.node]
            code: int | None = None
            try:
                async with connect(node.ws, self.user.token) as client:
                    self._client = client
                    await self._session(client)
            except ConnectionClosed as exc:
                code = exc.reason.code if exc.reason else 1006
            except (ConnectionRejected, HandshakeError, OSError, trio.BrokenResourceError):
                code = -1  # could not connect (node gone): try again shortly
            finally:
                self._client = None
                self.connected = False
                self._joined = trio.Event()
            if code is not None and code != -1:
                self.closes.append(code)
            if self.abandoned:
                return
            await trio.sleep_until(max(self._resume_at, trio.current_time() + 0.05))

    def abandon(self) -> None:
        """Never reconnect (a user who closes the app)."""
        self.abandoned = True

    async def _session(self, client: Any) -> None:
        await client.ws.get_message()  # welcome
        await client.send(Join(id="join", room=self.room, since=self.last_seq))
        while True:
            # Plain msgpack, not the validating decoder: this client reads a lot of traffic.
            self._handle(msgpack.unpackb(await client.ws.get_message(), raw=False))
            if self._joined.is_set() and not self.connected:
                self.connected = True
                for cid, (mid, body) in list(self._pending.items()):
                    await client.send(ClientChat(id=mid, room=self.room, body=body, client_id=cid))

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in DURABLE:
            self._durable(message["seq"], kind, _key(message))
        elif kind == "joined":
            self.joins.append(message)
            if self.last_seq is None:
                self.first_seq = message["seq"]
            else:
                for event in message["history"]:
                    self._durable(event["seq"], event["type"], _key(event))
                if message["seq"] != self.last_seq:
                    self.errors.append(f"joined at {message['seq']} after {self.last_seq}")
            self.last_seq = message["seq"]
            self._joined.set()
        elif kind == "ack" and message.get("clientId") in self._pending:
            cid = message["clientId"]
            del self._pending[cid]
            self.acked[cid] = message["seq"]
            self._acks.pop(cid).set()
        elif kind == "error":
            refused = self._refused.get(str(message.get("id")))
            if message["code"] == "unavailable" and refused is not None:
                self.unavailable += 1
                refused.set()
            else:
                self.errors.append(f"{message['code']}: {message['message']}")
        elif kind == "goaway":
            self.goaways.append(message["retryAfterMs"])
            wait = min(message["retryAfterMs"] / 1000, GOAWAY_WAIT_CAP)
            self._resume_at = trio.current_time() + wait
        elif kind == "resync":
            self.errors.append("resync")

    def _durable(self, seq: int, kind: str, key: Any) -> None:
        if self.last_seq is not None and seq != self.last_seq + 1:
            self.errors.append(f"{kind} {seq} after {self.last_seq}")
        self.events.append((seq, kind, key))
        self.last_seq = seq

    async def send_chat(self, body: str) -> None:
        """Send a chat without waiting for its ack (it is resent after a reconnect)."""
        cid = uuid.uuid4().hex
        self._acks[cid] = trio.Event()
        self._pending[cid] = (f"m-{cid[:12]}", body)
        client = self._client
        if client is not None and self.connected:
            with contextlib.suppress(ConnectionClosed):
                await client.send(
                    ClientChat(id=f"m-{cid[:12]}", room=self.room, body=body, client_id=cid)
                )

    def pending_ids(self) -> list[str]:
        return list(self._pending)

    @property
    def unacked(self) -> int:
        return len(self._pending)

    async def chat_until(self, stop: trio.Event, interval: float) -> None:
        """Chat ``<name> <n>`` every ``interval`` seconds until ``stop`` is set."""
        n = 0
        while not stop.is_set():
            await self.chat(f"{self.name} {n}")
            n += 1
            await trio.sleep(interval)

    async def chat(self, body: str) -> int:
        """Send a chat and wait for its ack, resending with the same clientId after a
        reconnect or an `unavailable` error. Returns its sequence number."""
        cid = uuid.uuid4().hex
        mid = f"m-{cid[:12]}"
        done = self._acks[cid] = trio.Event()
        self._pending[cid] = (mid, body)
        while True:
            refused = self._refused[mid] = trio.Event()
            client = self._client
            if client is not None and self.connected:
                with contextlib.suppress(ConnectionClosed):  # resent after the re-join
                    await client.send(ClientChat(id=mid, room=self.room, body=body, client_id=cid))
            with trio.move_on_after(10):
                async with trio.open_nursery() as nursery:

                    async def wait(event: trio.Event) -> None:
                        await event.wait()
                        nursery.cancel_scope.cancel()

                    nursery.start_soon(wait, done)
                    nursery.start_soon(wait, refused)
            if done.is_set():
                del self._refused[mid]
                return self.acked[cid]
            await trio.sleep(0.2)  # refused (Redis away) or no answer yet: try again


def _key(event: dict[str, Any]) -> Any:
    if event["type"] == "chat":
        return event["clientId"]
    if event["type"] == "member_joined":
        return int(event["user"]["id"])
    if event["type"] == "member_left":
        return int(event["userId"])
    return event.get("version")


def node_env(database_url: str, redis_url: str, key_prefix: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "warning",
        "NODE_LEASE_TTL_MS": "1500",
        "DRAIN_TIMEOUT": "10",
        **extra,
    }
