"""The coordinator's handle on the client workers (``_client_worker.py``).

Member ``j`` of a room lives on worker ``j % workers``; the first ``publishers`` members
publish. Every request goes to all workers at once and waits (bounded) for every answer.
"""

from __future__ import annotations

import array
import contextlib
import multiprocessing
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from _client_worker import worker_main


@dataclass
class PhaseResult:
    """What the clients saw in one publishing phase, all workers together."""

    sent: int
    received: int  # chat deliveries counted by the members
    missing: int  # deliveries still missing on connections that are open
    first_send: int  # time.monotonic_ns()
    last_receive: int
    latencies_ns: array.array  # one per delivery (latency phase)
    first_ns: list[int]  # per message: latency of its first delivery (latency phase)
    last_ns: list[int]  # per message: latency of its last delivery
    counts: Counter[str]  # other frames, errors and closes, by kind
    connections: int  # still open at the end


class ClientPool:
    """``workers`` client processes, kept for the whole benchmark."""

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self._pipes.append(parent)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [int(proc.pid) for proc in self._procs]

    def _ask(self, messages: Sequence[tuple[str, dict[str, Any]]], timeout: float) -> list[Any]:
        for pipe, message in zip(self._pipes, messages, strict=True):
            pipe.send(message)
        replies: dict[int, Any] = {}
        deadline = time.monotonic() + timeout
        while len(replies) < len(self._pipes):
            pending = [p for i, p in enumerate(self._pipes) if i not in replies]
            ready = wait(pending, timeout=max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError(f"client workers did not answer within {timeout:.0f} s")
            for pipe in ready:
                replies[self._pipes.index(pipe)] = pipe.recv()  # type: ignore[union-attr]
        return [replies[i] for i in range(len(self._pipes))]

    def connect(
        self, port: int, paths: Sequence[str], join: bytes | None, publishers: int, timeout: float
    ) -> tuple[int, list[str]]:
        """Open a connection per path (and join with the ``join`` payload if given); returns
        how many are ready and the first failures."""
        w = len(self._pipes)
        messages = []
        for number in range(w):
            pubs = {j // w: j for j in range(number, min(publishers, len(paths)), w)}
            args = {"port": port, "paths": list(paths[number::w]), "join": join}
            messages.append(
                ("connect", dict(args, publishers=pubs, concurrency=64, timeout=timeout))
            )
        replies = self._ask(messages, timeout + 15)
        return sum(r["ready"] for r in replies), [f for r in replies for f in r["failures"]]

    def phase(self, timeout: float, **args: Any) -> PhaseResult:
        """Run one publishing phase on every worker and merge what they saw."""
        replies = self._ask(
            [("phase", dict(args, timeout=timeout))] * len(self._pipes), timeout + 15
        )
        latencies = array.array("q")
        counts: Counter[str] = Counter()
        spread: dict[int, list[int]] = {}
        for reply in replies:
            latencies.frombytes(reply["latencies"])
            counts.update(reply["counts"])
            if reply["lost_on_close"]:
                counts["deliveries lost on closed connections"] += reply["lost_on_close"]
            for sent, (first, last) in reply["spread"].items():
                seen = spread.setdefault(sent, [first, last])
                seen[0], seen[1] = min(seen[0], first), max(seen[1], last)
        return PhaseResult(
            sent=sum(r["sent"] for r in replies),
            received=sum(r["received"] for r in replies),
            missing=sum(r["missing"] for r in replies),
            first_send=min((r["first_send"] for r in replies if r["first_send"]), default=0),
            last_receive=max(r["last_receive"] for r in replies),
            latencies_ns=latencies,
            first_ns=sorted(first for first, _ in spread.values()),
            last_ns=sorted(last for _, last in spread.values()),
            counts=counts,
            connections=sum(r["connections"] for r in replies),
        )

    def disconnect(self) -> None:
        self._ask([("disconnect", {})] * len(self._pipes), 30)

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(("exit", {}))
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
