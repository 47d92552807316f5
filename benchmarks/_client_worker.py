"""A client worker process: hundreds of benchmark connections in one ``select.epoll`` loop.

No trio and no WebSocket library (see ``_lean_ws.py``): each data frame is msgpack-decoded
to count ``chat`` messages and read the send time its publisher put in the body; pings get
pongs, so the product's heartbeat (ping every 20 s, close after 10 s without a pong) keeps
the connections open. The loop serves the sockets and the coordinator's pipe together, so
connections stay answered while the coordinator waits.

Timestamps are ``time.monotonic_ns()`` (CLOCK_MONOTONIC: one clock for every process on the
host). A receive time is taken when ``epoll.poll`` returns, when the bytes were already in
the client's socket, so the client's own parsing is not counted as latency. A message
scheduled for time T carries T (not the moment it was actually written) in its body, so a
late send counts against latency instead of hiding it (no coordinated omission).
"""

from __future__ import annotations

import array
import contextlib
import select
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import msgpack
from _lean_ws import (
    BINARY,
    CLOSE,
    CLOSED,
    HANDSHAKE,
    JOINING,
    PING,
    PONG,
    READY,
    WELCOME,
    Conn,
    chat_body,
    masked_frame,
    split_frames,
    upgrade_request,
    upgrade_response,
)

_RECV = 256 * 1024
_IN = select.EPOLLIN | select.EPOLLRDHUP


@dataclass
class _Phase:
    kind: str  # "latency" (open loop, fixed schedule) or "burst" (paced and windowed)
    messages: int  # every connection expects this many chat messages
    room: str
    tag: str
    deadline: int
    schedule: list[tuple[int, int, int]] = field(default_factory=list)  # (ns, conn, n)
    next_send: int = 0
    quota: dict[int, int] = field(default_factory=dict)  # conn index -> messages left
    due: dict[int, int] = field(default_factory=dict)  # conn index -> earliest next send
    period: int = 0
    window: int = 0
    batch_sleep: float = 0.0
    remaining: int = 0  # connections still missing messages
    lost: int = 0
    sent: int = 0
    first_send: int = 0
    last_receive: int = 0
    latencies: array.array = field(default_factory=lambda: array.array("q"))
    spread: dict[int, list[int]] = field(default_factory=dict)  # sent -> [first, last]


class _Worker:
    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.poller = select.epoll()
        self.poller.register(pipe.fileno(), select.EPOLLIN)
        self.conns: list[Conn] = []
        self.by_fd: dict[int, Conn] = {}
        self.running = True
        self.phase: _Phase | None = None
        self.connect: dict[str, Any] | None = None
        self.join: bytes | None = None
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []

    def run(self) -> None:
        pipe_fd = self.pipe.fileno()
        while self.running:
            events = self.poller.poll(self._timeout())
            now = time.monotonic_ns()
            for fd, mask in events:
                if fd == pipe_fd:
                    while self.running and self.pipe.poll():
                        self._command(self.pipe.recv())
                    continue
                conn = self.by_fd.get(fd)
                if conn is None:
                    continue
                if mask & select.EPOLLOUT:
                    self._flush(conn)
                if mask & ~select.EPOLLOUT:
                    self._read(conn, now)
            if self.connect is not None:
                self._connect_tick(self.connect)
            phase = self.phase
            if phase is not None:
                self._phase_tick(phase, time.monotonic_ns())
                if phase.batch_sleep and self.phase is phase:
                    time.sleep(phase.batch_sleep)  # let frames pile up: fewer, larger reads

    def _timeout(self) -> float:
        phase = self.phase
        if phase is None:
            return 0.05
        now = time.monotonic_ns()
        wake = phase.deadline
        if phase.kind == "latency":
            if phase.next_send < len(phase.schedule):
                wake = min(wake, phase.schedule[phase.next_send][0])
        else:
            for index, left in phase.quota.items():
                if left and self.conns[index].inflight < phase.window:
                    wake = min(wake, phase.due[index])
        # epoll rounds up to whole milliseconds: round down, then spin through the last one
        return min(max(wake - now, 0) // 1_000_000 / 1000, 0.05)

    def _command(self, message: tuple[str, dict[str, Any]]) -> None:
        kind, args = message
        if kind == "connect":
            deadline = time.monotonic_ns() + int(args["timeout"] * 1e9)
            self.connect = dict(args, next=0, deadline=deadline)
            self.join = args["join"]
        elif kind == "phase":
            self._start_phase(args)
        elif kind == "disconnect":
            for conn in self.conns:
                self._drop(conn, 1000)
            self.conns, self.by_fd, self.counts, self.failures = [], {}, Counter(), []
            self.pipe.send({"closed": True})
        elif kind == "exit":
            self.running = False

    # -- connecting -------------------------------------------------------------------------

    def _connect_tick(self, job: dict[str, Any]) -> None:
        paths = job["paths"]
        opening = sum(1 for c in self.conns if c.state in (HANDSHAKE, WELCOME, JOINING))
        while job["next"] < len(paths) and opening < job["concurrency"]:
            index = job["next"]
            job["next"] += 1
            opening += 1
            self._open(job["port"], paths[index], job["publishers"].get(index, -1))
        settled = sum(1 for c in self.conns if c.state in (READY, CLOSED))
        timed_out = time.monotonic_ns() > job["deadline"]
        if not (job["next"] == len(paths) and settled == len(paths)) and not timed_out:
            return
        for conn in self.conns:
            if conn.state not in (READY, CLOSED):
                self._fail(conn, "connect timeout")
        ready = sum(1 for c in self.conns if c.state == READY)
        self.pipe.send({"ready": ready, "failures": self.failures[:5]})
        self.connect = None

    def _open(self, port: int, path: str, pub: int) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError as exc:
            self.failures.append(f"connect: {exc}")
            sock = socket.socket()
            conn = Conn(sock, pub)
            conn.state = CLOSED
            self.conns.append(conn)
            sock.close()
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = Conn(sock, pub)
        self.conns.append(conn)
        self.by_fd[conn.fd] = conn
        self.poller.register(conn.fd, _IN)
        self._send(conn, upgrade_request(conn, port, path))

    def _fail(self, conn: Conn, reason: str) -> None:
        self.failures.append(reason)
        self._drop(conn, 1006)

    # -- reading ----------------------------------------------------------------------------

    def _read(self, conn: Conn, now: int) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn, 1006)
            return
        if conn.state == HANDSHAKE:
            answer = upgrade_response(conn, data)
            if answer is None:
                return
            refusal, data = answer
            if refusal is not None:
                self._fail(conn, refusal)
                return
            conn.state = WELCOME if self.join else READY
        frames, conn.buf = split_frames(conn.buf + data if conn.buf else data)
        for opcode, payload in frames:
            self._frame(conn, opcode, payload, now)
            if conn.state == CLOSED:
                return

    def _frame(self, conn: Conn, opcode: int, payload: bytes, now: int) -> None:
        if opcode == BINARY:
            message = msgpack.unpackb(payload, raw=False)
            kind = message.get("type")
            if kind == "chat" and conn.state == READY:
                self._chat(conn, message["body"], now)
            elif conn.state == WELCOME and kind == "welcome":
                conn.state = JOINING
                assert self.join is not None
                self._send(conn, masked_frame(BINARY, self.join))
            elif conn.state == JOINING and kind == "joined":
                conn.state = READY
            elif kind == "error":
                self.counts[f"error {message.get('code')}"] += 1
                if conn.state in (WELCOME, JOINING):
                    self._fail(conn, f"join refused: {message.get('message')}")
            else:
                self.counts[str(kind)] += 1
        elif opcode == PING:
            self.counts["ping"] += 1
            self._send(conn, masked_frame(PONG, payload))
        elif opcode == CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._send(conn, masked_frame(CLOSE, payload[:2]))
            self._drop(conn, code)
        elif opcode != PONG:
            self.counts[f"opcode {opcode}"] += 1

    def _chat(self, conn: Conn, body: str, now: int) -> None:
        phase = self.phase
        if phase is None:
            self.counts["chat outside a phase"] += 1
            return
        conn.chats += 1
        phase.last_receive = now
        if phase.kind == "latency":
            sent = int(body[:19])
            latency = now - sent
            phase.latencies.append(latency)
            seen = phase.spread.get(sent)
            if seen is None:
                phase.spread[sent] = [latency, latency]
            elif latency < seen[0]:
                seen[0] = latency
            elif latency > seen[1]:
                seen[1] = latency
        elif conn.pub >= 0 and int(body[20:25]) == conn.pub:
            conn.inflight -= 1
        if conn.chats == phase.messages:
            phase.remaining -= 1

    # -- writing ----------------------------------------------------------------------------

    def _send(self, conn: Conn, data: bytes) -> None:
        if conn.state == CLOSED:
            return
        if conn.out:
            conn.out += data
            return
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn, 1006)
            return
        if sent < len(data):
            conn.out = data[sent:]
            self.poller.modify(conn.fd, _IN | select.EPOLLOUT)

    def _flush(self, conn: Conn) -> None:
        data, conn.out = conn.out, b""
        if data:
            self.poller.modify(conn.fd, _IN)
            self._send(conn, data)

    def _drop(self, conn: Conn, code: int) -> None:
        if conn.state == CLOSED:
            return
        if conn.state == READY:
            self.counts[f"closed {code}"] += 1
        phase = self.phase
        if phase is not None and conn.state == READY and conn.chats < phase.messages:
            phase.lost += phase.messages - conn.chats
            phase.remaining -= 1
        conn.state = CLOSED
        self.by_fd.pop(conn.fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.poller.unregister(conn.fd)
        conn.sock.close()

    # -- phases -----------------------------------------------------------------------------

    def _start_phase(self, args: dict[str, Any]) -> None:
        now = time.monotonic_ns()
        phase = _Phase(
            kind=args["kind"],
            messages=args["messages"],
            room=args["room"],
            tag=args["tag"],
            deadline=now + int(args["timeout"] * 1e9),
            window=args.get("window", 0),
            batch_sleep=args.get("batch_sleep", 0.0),
        )
        for conn in self.conns:
            conn.chats = conn.inflight = 0
        phase.remaining = sum(1 for c in self.conns if c.state == READY)
        publishers = {c.pub: i for i, c in enumerate(self.conns) if c.state == READY and c.pub >= 0}
        total = args["publishers"]
        if phase.kind == "latency":
            start, interval = args["start_ns"], args["interval_ns"]
            for n in range(phase.messages):
                if n % total in publishers:
                    phase.schedule.append((start + n * interval, publishers[n % total], n))
        else:
            phase.period = int(1e9 / args["rate"])
            for pub, index in publishers.items():
                phase.quota[index] = phase.messages // total + (pub < phase.messages % total)
                phase.due[index] = now
        self.phase = phase
        self._phase_tick(phase, now)

    def _publish(self, phase: _Phase, conn: Conn, intended: int, n: int) -> None:
        body = chat_body(intended, conn.pub)
        chat = {"type": "chat", "room": phase.room, "body": body, "clientId": f"{phase.tag}{n}"}
        self._send(conn, masked_frame(BINARY, msgpack.packb(chat)))
        if not phase.sent:
            phase.first_send = time.monotonic_ns()
        phase.sent += 1
        conn.inflight += 1

    def _phase_tick(self, phase: _Phase, now: int) -> None:
        if phase.kind == "latency":
            schedule = phase.schedule
            while phase.next_send < len(schedule) and schedule[phase.next_send][0] <= now:
                intended, index, n = schedule[phase.next_send]
                phase.next_send += 1
                self._publish(phase, self.conns[index], intended, n)
        else:
            for index, left in phase.quota.items():
                conn = self.conns[index]
                if left and conn.inflight < phase.window and now >= phase.due[index]:
                    if conn.state != READY:
                        phase.quota[index] = 0
                        continue
                    phase.quota[index] = left - 1
                    phase.due[index] = now + phase.period
                    self._publish(phase, conn, now, conn.pub * 1_000_000 + left)
        if phase.remaining <= 0 or now > phase.deadline:
            self._finish(phase)

    def _finish(self, phase: _Phase) -> None:
        ready = [c for c in self.conns if c.state == READY]
        self.pipe.send(
            {
                "sent": phase.sent,
                "received": sum(c.chats for c in self.conns),
                "missing": sum(phase.messages - c.chats for c in ready if c.chats < phase.messages),
                "lost_on_close": phase.lost,
                "first_send": phase.first_send,
                "last_receive": phase.last_receive,
                "latencies": phase.latencies.tobytes(),
                "spread": phase.spread,
                "counts": dict(self.counts),
                "connections": len(ready),
            }
        )
        self.phase = None


def worker_main(pipe: Connection) -> None:
    """Entry point of a worker process: serve commands from ``pipe`` until ``exit``."""
    _Worker(pipe).run()
