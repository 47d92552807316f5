"""A load-generating worker process (``python -m loadtest._worker``), driven by the runner
over stdin/stdout (see ``_ipc``). It never prints anything else to stdout.

Conversation, runner (R) and worker (W)::

    R: plan {raw scenario, worker, workers, run_tag, login}
    W: clock {t0}            R: clock {t0, tr}       (a few times: the clock offset)
    W: accounts {owners, failed}      after creating or logging in its users
    R: rooms {rooms, nda, start_ns}
    W: snapshot {...}        every second (index -1 during set-up)
    R: stop                  (optional: ends the run early)
    W: snapshot {final} and done
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import traceback
from typing import Any

import trio

from ._accounts import Account, open_account
from ._clock import ReferenceClock, estimate_offset
from ._connection import Context
from ._http_client import Api
from ._ipc import FrameReader, pack
from ._metrics import Recorder
from ._roster import VirtualUser, build_roster, room_owner, users_at, worker_share
from ._scenario import Scenario, _Parser
from ._user import User

CLOCK_PROBES = 8
SNAPSHOT_EVERY_S = 1.0


class Worker:
    def __init__(self, stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream) -> None:
        self._reader = FrameReader(stdin)
        self._out = stdout
        self._send_lock = trio.Lock()
        self.recorder = Recorder()
        self.clock = ReferenceClock()
        self._inbox_send, self._inbox = trio.open_memory_channel[dict[str, Any]](16)
        self.stop_requested = trio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._out.send_all(pack(message))

    async def _read(self) -> None:
        while True:
            message = await self._reader.receive()
            if message is None or message.get("type") == "stop":
                self.stop_requested.set()
                if message is None:
                    return
                continue
            await self._inbox_send.send(message)

    async def _expect(self, kind: str) -> dict[str, Any]:
        message = await self._inbox.receive()
        if message.get("type") != kind:
            raise RuntimeError(f"expected {kind} from the runner, got {message.get('type')}")
        return message

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read)
            plan = await self._expect("plan")
            scenario = _Parser(plan["raw"]).scenario("plan")
            await self._sync_clock()
            with trio.CancelScope() as scope:
                nursery.start_soon(self._watch_stop, scope)
                await self._drive(scenario, plan)
            await self._final_snapshot()
            nursery.cancel_scope.cancel()

    async def _watch_stop(self, scope: trio.CancelScope) -> None:
        await self.stop_requested.wait()
        scope.cancel()

    async def _sync_clock(self) -> None:
        probes = []
        for _ in range(CLOCK_PROBES):
            sent = time.time_ns()
            await self.send({"type": "clock", "t0": sent})
            reply = await self._expect("clock")
            probes.append((sent, int(reply["tr"]), time.time_ns()))
        offset = estimate_offset(probes)
        self.clock = ReferenceClock(offset.offset_ns)
        self.offset = offset

    async def _drive(self, scenario: Scenario, plan: dict[str, Any]) -> None:
        roster = build_roster(scenario, plan["run_tag"])
        mine = worker_share(roster, plan["worker"], plan["workers"])
        api = Api(scenario.allowed_urls(), self.recorder, scenario.run.http_timeout)
        creators = [u.index for u in roster if u.role == "creator"]
        owner_count = scenario.rooms.count + scenario.rooms.nda_pitches
        owners = {room_owner(r, creators) for r in range(owner_count)}
        index = -1
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._snapshots_during_setup)
                accounts = await self._open_accounts(api, scenario, mine, plan["login"])
                await self.send(
                    {
                        "type": "accounts",
                        "owners": {i: a.owner_view() for i, a in accounts.items() if i in owners},
                        "failed": len(mine) - len(accounts),
                    }
                )
                rooms_msg = await self._expect("rooms")
                nursery.cancel_scope.cancel()
            self.recorder.setup = False
            await self.send({"type": "snapshot", "index": -1, **self.recorder.snapshot()})
            start_local = trio.current_time() + (rooms_msg["start_ns"] - self.clock.now_ns()) / 1e9
            ctx = Context(
                api,
                self.recorder,
                self.clock,
                rooms_msg["rooms"],
                scenario.run.connect_timeout,
                scenario.run.ws_auth,
            )
            self._ctx = ctx
            await trio.sleep_until(start_local)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    self._schedule_users, scenario, accounts, roster, rooms_msg, start_local
                )
                index = 0
                while index * SNAPSHOT_EVERY_S < scenario.duration:
                    await trio.sleep_until(start_local + (index + 1) * SNAPSHOT_EVERY_S)
                    await self.send(
                        {"type": "snapshot", "index": index, **self.recorder.snapshot()}
                    )
                    index += 1
                nursery.cancel_scope.cancel()
        finally:
            self._last_index = index
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await api.aclose()

    async def _snapshots_during_setup(self) -> None:
        while True:
            await trio.sleep(SNAPSHOT_EVERY_S)
            await self.send({"type": "snapshot", "index": -1, **self.recorder.snapshot()})

    async def _open_accounts(
        self, api: Api, scenario: Scenario, mine: list[VirtualUser], login: bool
    ) -> dict[int, Account]:
        accounts: dict[int, Account] = {}
        limiter = trio.CapacityLimiter(scenario.run.setup_concurrency)

        async def one(user: VirtualUser) -> None:
            async with limiter:
                base = scenario.targets[user.target].http
                account = await open_account(api, base, user, login=login)
                if account is not None:
                    accounts[user.index] = account

        with trio.move_on_after(scenario.run.setup_timeout):
            async with trio.open_nursery() as nursery:
                for user in mine:
                    nursery.start_soon(one, user)
        return accounts

    async def _schedule_users(
        self,
        scenario: Scenario,
        accounts: dict[int, Account],
        roster: list[VirtualUser],
        rooms_msg: dict[str, Any],
        start: float,
    ) -> None:
        """Start and stop users to follow the stages; fire the storms."""
        room_ids: list[int] = rooms_msg["rooms"]
        nda_ids: list[int] = rooms_msg["nda"]
        creators = [u.index for u in roster if u.role == "creator"]
        mine = sorted(accounts)
        running: dict[int, tuple[User, trio.CancelScope]] = {}
        storms = list(scenario.storms)
        async with trio.open_nursery() as nursery:
            while True:
                elapsed = trio.current_time() - start
                target = users_at(scenario.stages, elapsed)
                for index in mine:
                    if index < target and index not in running:
                        account = accounts[index]
                        user = account.user
                        owned = [
                            room_ids[r]
                            for r in range(len(room_ids))
                            if room_owner(r, creators) == index
                        ]
                        rooms = sorted({room_ids[r] for r in user.rooms} | set(owned))
                        rng = random.Random(scenario.run.seed * 1_000_003 + index)
                        vu = User(
                            self._ctx,
                            account,
                            scenario.behaviours[user.role],
                            scenario.targets[user.target].ws,
                            rooms[:50],
                            owned,
                            nda_ids,
                            rng,
                        )
                        scope = trio.CancelScope()
                        running[index] = (vu, scope)
                        nursery.start_soon(self._run_user, vu, scope)
                for index in sorted(running, reverse=True):
                    if index >= target:
                        running.pop(index)[1].cancel()
                self.recorder.users = len(running)
                while storms and storms[0].at <= elapsed:
                    storm = storms.pop(0)
                    rng = random.Random(scenario.run.seed + int(storm.at * 1000))
                    for vu, _ in running.values():
                        if rng.random() < storm.fraction:
                            vu.storm(storm.within)
                    self.recorder.count("ws.storms")
                if elapsed >= scenario.duration:
                    break
                await trio.sleep(0.1)
            for _, scope in running.values():
                scope.cancel()
            self.recorder.users = 0

    async def _run_user(self, user: User, scope: trio.CancelScope) -> None:
        """One user's error boundary: a bug in the harness ends that user, recorded and
        logged, never the worker."""
        with scope:
            try:
                await user.run()
            except Exception as exc:
                self.recorder.error(f"harness.{type(exc).__name__}")
                traceback.print_exc(file=sys.stderr)

    async def _final_snapshot(self) -> None:
        self.recorder.users = 0
        offsets = getattr(self, "_ctx", None)
        server = None
        if offsets is not None and offsets.server_offsets:
            est = estimate_offset(offsets.server_offsets)
            server = {"offset_ms": est.offset_ns / 1e6, "rtt_ms": est.rtt_ns / 1e6}
        clock = getattr(self, "offset", None)
        await self.send(
            {
                "type": "snapshot",
                "index": getattr(self, "_last_index", -1),
                "final": True,
                **self.recorder.snapshot(),
            }
        )
        await self.send(
            {
                "type": "done",
                "clock": None
                if clock is None
                else {"offset_ms": clock.offset_ns / 1e6, "error_ms": clock.error_ns / 1e6},
                "server_clock": server,
            }
        )


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when to stop
    sys.stdout = sys.stderr  # stray prints must not corrupt the frames on fd 1

    async def run() -> None:
        stdin = trio.lowlevel.FdStream(os.dup(0))
        stdout = trio.lowlevel.FdStream(os.dup(1))
        await Worker(stdin, stdout).run()

    trio.run(run)


if __name__ == "__main__":
    main()
