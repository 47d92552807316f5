"""The runner: checks the targets, starts the workers, creates the rooms, gives the start
signal, merges what the workers measure, and stops everything within the run's bounds.

Ctrl-C (or SIGTERM) asks the workers to stop; they close their sockets and send what they
measured, and the report is written as for a finished run (marked interrupted). A second
Ctrl-C, or a worker that does not finish in time, ends the workers at once.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import trio

from ._aggregate import Aggregate
from ._errors import SetupError
from ._http_client import Api
from ._ipc import FrameReader, pack
from ._metrics import Recorder
from ._progress import Progress
from ._roster import build_roster, room_owner
from ._scenario import Scenario

START_DELAY_S = 1.0  # from the start signal to the first stage, so every worker is ready
STOP_GRACE_S = 15.0  # workers get this long to finish after a stop or the last stage
PITCH_GENRES = ("Drama", "Comedy", "Thriller", "Documentary", "Sci-Fi")


@dataclass
class RunOutcome:
    scenario: Scenario
    aggregate: Aggregate
    started_at: float = 0.0  # time.time() of the first stage
    measured_s: float = 0.0
    interrupted: bool = False
    setup_failed: str | None = None
    accounts_failed: int = 0
    rooms: list[int] = field(default_factory=list)
    worker_clocks: list[dict[str, Any] | None] = field(default_factory=list)
    server_clocks: list[dict[str, Any] | None] = field(default_factory=list)
    server: dict[str, Any] = field(default_factory=dict)
    harness: dict[str, Any] = field(default_factory=dict)


class Runner:
    def __init__(
        self,
        scenario: Scenario,
        *,
        login: bool,
        run_tag: str | None = None,
        server_pids: list[int] | None = None,
        log_dir: Path,
        progress: Progress,
    ) -> None:
        self.scenario = scenario
        self.login = login
        self.run_tag = run_tag or secrets.token_hex(3)
        self.server = [psutil.Process(pid) for pid in server_pids or []]
        self.log_dir = log_dir
        self.progress = progress
        workers = scenario.run.workers
        self.aggregate = Aggregate(workers)
        self.outcome = RunOutcome(scenario, self.aggregate)
        self.outcome.worker_clocks = [None] * workers
        self.outcome.server_clocks = [None] * workers
        self._procs: list[trio.Process] = []
        self._accounts: dict[int, dict[str, Any]] = {}
        self._accounts_in = 0
        self._all_accounts = trio.Event()
        self._done = [trio.Event() for _ in range(workers)]
        self._start_perf: float | None = None
        self._stopping = False

    async def run(self) -> RunOutcome:
        await self._check_targets()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._signals, nursery.cancel_scope)
            try:
                await self._run_workers(nursery)
            finally:
                nursery.cancel_scope.cancel()
        self.aggregate.finish()
        return self.outcome

    async def _check_targets(self) -> None:
        recorder = Recorder()
        api = Api(self.scenario.allowed_urls(), recorder, self.scenario.run.http_timeout)
        try:
            for target in self.scenario.targets:
                reply = await api.call("health", "GET", target.http, "/health")
                if not reply.ok:
                    why = reply.error if reply.status == 0 else f"HTTP {reply.status}"
                    raise SetupError(f"{target.http}/health did not answer ({why})")
        finally:
            await api.aclose()

    async def _signals(self, cancel: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if self._stopping:
                    self.progress.note("second interrupt: ending the workers now")
                    self._kill()
                    cancel.cancel()
                    return
                self.progress.note("interrupted: stopping the workers (Ctrl-C again to force)")
                self.outcome.interrupted = True
                await self._stop_workers()

    async def _stop_workers(self) -> None:
        self._stopping = True
        for proc in self._procs:
            if proc.stdin is not None:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await proc.stdin.send_all(pack({"type": "stop"}))

    def _kill(self) -> None:
        for proc in self._procs:
            if proc.returncode is None:
                proc.kill()

    async def _run_workers(self, nursery: trio.Nursery) -> None:
        sc = self.scenario
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for worker in range(sc.run.workers):
            log = (self.log_dir / f"worker-{worker}.log").open("wb")
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "loadtest._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # a terminal's Ctrl-C reaches only the runner
            )
            log.close()
            self._procs.append(proc)
            nursery.start_soon(self._talk, worker, proc)
        plan = {"raw": sc.raw, "workers": sc.run.workers, "run_tag": self.run_tag}
        for worker, proc in enumerate(self._procs):
            assert proc.stdin is not None
            await proc.stdin.send_all(
                pack({**plan, "type": "plan", "worker": worker, "login": self.login})
            )
        self.progress.note(
            f"setting up {sc.roster_size} accounts "
            f"({'logging in' if self.login else 'registering'}) with {sc.run.workers} workers"
        )
        with trio.move_on_after(sc.run.setup_timeout + 10) as setup_scope:
            await self._all_accounts.wait()
        if setup_scope.cancelled_caught or self._stopping:
            self.outcome.setup_failed = (
                "interrupted during set-up" if self._stopping else "accounts were not ready in time"
            )
            await self._finish_workers()
            return
        try:
            rooms, nda = await self._create_rooms()
        except SetupError as exc:
            self.outcome.setup_failed = str(exc)
            await self._finish_workers()
            return
        self.outcome.rooms = rooms
        start_ns = time.time_ns() + int(START_DELAY_S * 1e9)
        for proc in self._procs:
            assert proc.stdin is not None
            await proc.stdin.send_all(
                pack({"type": "rooms", "rooms": rooms, "nda": nda, "start_ns": start_ns})
            )
        await trio.sleep(max(0.0, (start_ns - time.time_ns()) / 1e9))
        self.outcome.started_at = time.time()
        self.progress.note("load started")
        self._start_perf = time.perf_counter()
        cpu_before = self._server_cpu()
        self._server_rss("rss_mb_start")
        workers_before = self._worker_cpu()
        nursery.start_soon(self._sample, self._start_perf)
        with trio.move_on_after(sc.duration + STOP_GRACE_S):
            for done in self._done:
                await done.wait()
        self.outcome.measured_s = min(sc.duration, time.perf_counter() - self._start_perf)
        self._account_cpu(cpu_before, workers_before)
        self._server_rss("rss_mb_end")
        await self._finish_workers()

    async def _finish_workers(self) -> None:
        """Ask every worker to stop, wait for their last word, and reap them."""
        await self._stop_workers()
        with trio.move_on_after(STOP_GRACE_S):
            for done in self._done:
                await done.wait()
        self._kill()
        for proc in self._procs:
            with trio.move_on_after(5):
                await proc.wait()

    async def _talk(self, worker: int, proc: trio.Process) -> None:
        assert proc.stdout is not None and proc.stdin is not None
        reader = FrameReader(proc.stdout)
        try:
            while True:
                message = await reader.receive()
                if message is None:
                    break
                kind = message.get("type")
                if kind == "clock":
                    reply = {"type": "clock", "t0": message["t0"], "tr": time.time_ns()}
                    await proc.stdin.send_all(pack(reply))
                elif kind == "snapshot":
                    self.aggregate.add(worker, message["index"], message)
                elif kind == "accounts":
                    self._accounts.update({int(k): v for k, v in message["owners"].items()})
                    self.outcome.accounts_failed += message["failed"]
                    self._accounts_in += 1
                    if self._accounts_in == len(self._done):
                        self._all_accounts.set()
                elif kind == "done":
                    self.outcome.worker_clocks[worker] = message.get("clock")
                    self.outcome.server_clocks[worker] = message.get("server_clock")
                    break
        except (trio.BrokenResourceError, trio.ClosedResourceError, ValueError):
            pass
        finally:
            self.aggregate.worker_finished(worker)
            self._done[worker].set()
            if not self._all_accounts.is_set():
                self._accounts_in += 1
                if self._accounts_in >= len(self._done):
                    self._all_accounts.set()

    async def _create_rooms(self) -> tuple[list[int], list[int]]:
        """Published pitches, one per room, then the NDA-protected ones, created over HTTP
        by the creators who own them."""
        sc = self.scenario
        recorder = Recorder()
        roster = build_roster(sc, self.run_tag)
        creators = [u.index for u in roster if u.role == "creator"]
        total = sc.rooms.count + sc.rooms.nda_pitches
        ids: list[int | None] = [None] * total
        api = Api(sc.allowed_urls(), recorder, sc.run.http_timeout)
        limiter = trio.CapacityLimiter(8)
        self.progress.note(f"creating {total} pitches")

        async def one(r: int) -> None:
            owner_index = room_owner(r, creators)
            owner = self._accounts.get(owner_index)
            if owner is None:
                return
            user = roster[owner_index]
            base = sc.targets[user.target].http
            body = {
                "title": f"Load test room {r} ({self.run_tag})",
                "logline": "A pitch room created by pitchey-loadtest.",
                "genre": PITCH_GENRES[r % len(PITCH_GENRES)],
                "requireNda": r >= sc.rooms.count,
            }
            async with limiter:
                call = {"source": user.source, "token": owner["access"]}
                made = await api.call(
                    "create_pitch", "POST", base, "/api/pitches", json=body, **call
                )
                if not made.ok:
                    return
                pitch = int(made.data["id"])
                published = await api.call(
                    "publish", "POST", base, f"/api/pitches/{pitch}/publish", **call
                )
                if published.ok:
                    ids[r] = pitch

        try:
            with trio.move_on_after(sc.run.setup_timeout):
                async with trio.open_nursery() as nursery:
                    for r in range(total):
                        nursery.start_soon(one, r)
        finally:
            await api.aclose()
            self.aggregate.add(-1, -1, recorder.snapshot())
        missing = sum(1 for i in ids if i is None)
        if missing:
            raise SetupError(
                f"{missing} of {total} pitches could not be created "
                f"(errors: {dict(self.aggregate.errors) or 'none'})"
            )
        done = [i for i in ids if i is not None]
        return done[: sc.rooms.count], done[sc.rooms.count :]

    # -- resource accounting ---------------------------------------------------------

    def _server_cpu(self) -> float | None:
        if not self.server:
            return None
        try:
            return sum(p.cpu_times().user + p.cpu_times().system for p in self.server)
        except psutil.Error:
            return None

    def _worker_cpu(self) -> float | None:
        try:
            return sum(
                psutil.Process(p.pid).cpu_times().user + psutil.Process(p.pid).cpu_times().system
                for p in self._procs
            )
        except psutil.Error:
            return None

    def _account_cpu(self, server_before: float | None, workers_before: float | None) -> None:
        measured = self.outcome.measured_s or 1e-9
        server_after = self._server_cpu()
        if server_before is not None and server_after is not None:
            self.outcome.server["pids"] = [p.pid for p in self.server]
            self.outcome.server["cpu_s"] = round(server_after - server_before, 3)
            self.outcome.server["cpu_percent"] = round(
                100 * (server_after - server_before) / measured, 1
            )
        workers_after = self._worker_cpu()
        if workers_before is not None and workers_after is not None:
            used = workers_after - workers_before
            self.outcome.harness["workers_cpu_s"] = round(used, 3)
            self.outcome.harness["workers_cpu_percent_each"] = round(
                100 * used / measured / max(1, len(self._procs)), 1
            )
        self.outcome.harness["cpus"] = os.cpu_count()

    def _server_rss(self, key: str) -> None:
        try:
            rss = sum(p.memory_info().rss for p in self.server) / 2**20
        except psutil.Error:
            return
        if self.server:
            self.outcome.server[key] = round(rss, 1)

    async def _sample(self, start: float) -> None:
        """Each second: the progress line, and the server's CPU and memory if watched."""
        last_cpu = self._server_cpu()
        rss_max = 0.0
        tick = 0
        while True:
            tick += 1
            await trio.sleep_until(
                trio.current_time() + max(0.0, start + tick - time.perf_counter())
            )
            figures: dict[str, float] = {}
            cpu = self._server_cpu()
            if cpu is not None and last_cpu is not None:
                figures["server_cpu_percent"] = round(100 * (cpu - last_cpu), 1)
                last_cpu = cpu
                try:
                    rss = sum(p.memory_info().rss for p in self.server) / 2**20
                    figures["server_rss_mb"] = round(rss, 1)
                    rss_max = max(rss_max, rss)
                    self.outcome.server["rss_mb_max"] = round(rss_max, 1)
                except psutil.Error:
                    pass
            if figures:
                self.aggregate.server_samples[tick - 1] = figures
            self.progress.tick(tick, self.scenario.duration, self.aggregate)
            if tick >= math.ceil(self.scenario.duration):
                return
