"""CPU accounting from outside the processes (psutil): what one phase cost, and to whom."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from typing import Any

import psutil


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU seconds of ``proc`` so far (its children not included)."""
    times = proc.cpu_times()
    return times.user + times.system


def _each(procs: Iterable[psutil.Process]) -> dict[int, float]:
    used = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            used[proc.pid] = cpu_seconds(proc)
    return used


def _everyone() -> dict[int, tuple[str, float]]:
    used = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is not None:
            used[proc.pid] = (proc.info["name"], times.user + times.system)
    return used


class PhaseMeter:
    """CPU used between construction and :meth:`stop` by the server, the client workers and
    the storage processes (PostgreSQL and Redis), and how busy the rest of the machine was
    (idle and hypervisor-stolen shares, the busiest other processes; kernel threads such as
    kworker doing PostgreSQL's fsync writeback show up there)."""

    def __init__(
        self, server: psutil.Process, clients: list[int], storage: list[psutil.Process]
    ) -> None:
        self._groups: dict[str, list[psutil.Process]] = {
            "server": [server],
            "clients": [psutil.Process(pid) for pid in clients],
            "storage": storage,
        }
        self._known = {os.getpid(), server.pid, *clients, *(p.pid for p in storage)}
        self._machine_before: Any = psutil.cpu_times()
        self._machine_after: Any = None
        self._everyone_before = _everyone()
        self._everyone_after: dict[int, tuple[str, float]] = {}
        self._before = {name: _each(procs) for name, procs in self._groups.items()}
        self._after: dict[str, dict[int, float]] = {}

    def stop(self) -> None:
        self._after = {name: _each(procs) for name, procs in self._groups.items()}
        self._machine_after = psutil.cpu_times()
        self._everyone_after = _everyone()

    def seconds(self, group: str) -> float:
        """CPU seconds the group used (processes alive at both ends)."""
        before, after = self._before[group], self._after[group]
        return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())

    def machine(self, wall: float) -> str:
        before, after = self._machine_before, self._machine_after
        spent = {name: getattr(after, name) - getattr(before, name) for name in after._fields}
        total = sum(spent.values()) or 1.0
        idle = 100 * (spent.get("idle", 0.0) + spent.get("iowait", 0.0)) / total
        text = f"machine idle {idle:.0f}%, steal {100 * spent.get('steal', 0.0) / total:.0f}%"
        used = sorted(
            (cpu - self._everyone_before.get(pid, ("", 0.0))[1], name)
            for pid, (name, cpu) in self._everyone_after.items()
            if pid not in self._known
        )[::-1]
        busy = [f"{name} {100 * cpu / wall:.0f}%" for cpu, name in used[:3] if cpu > 0.05 * wall]
        return text + (f"; others: {', '.join(busy)}" if busy and wall > 0 else "")
