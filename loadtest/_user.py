"""A virtual user: its connections and what its role does, on a schedule.

Every action happens at intended times drawn in advance (Poisson arrivals at the role's
rate). When the user falls behind (a slow send, a reconnect), the action still carries its
intended time and latencies are measured from it, so a stalled server cannot hide its
stalls by slowing the load down (coordinated omission). Actions more than
``MAX_LAG_S`` overdue are skipped and counted as ``ws.skipped`` / ``http.skipped``.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable, Callable

import trio

from protocol import ClientChat, ClientPresence, ClientTyping, PitchUpdate

from ._accounts import Account
from ._connection import CHAT_PREFIX, Connection, Context, room_names
from ._scenario import Behaviour

MAX_LAG_S = 5.0
SEARCH_WORDS = ("road", "night", "salt", "drama", "comedy", "city", "love", "war")
PRESENCE = ("online", "away", "busy", "dnd")


class User:
    def __init__(
        self,
        ctx: Context,
        account: Account,
        behaviour: Behaviour,
        ws_url: str,
        room_ids: list[int],
        owned_room_ids: list[int],
        nda_pitch_ids: list[int],
        rng: random.Random,
    ) -> None:
        self.ctx = ctx
        self.account = account
        self.behaviour = behaviour
        self.rng = rng
        self.rooms = room_names(room_ids)
        self.owned = [r for r in room_names(owned_room_ids) if r in self.rooms]
        self.room_ids = room_ids
        self.nda_pitch_ids = nda_pitch_ids
        self.connections = [
            Connection(ctx, account, ws_url, self.rooms) for _ in range(behaviour.connections)
        ]
        self._sent = 0
        self._liked: set[int] = set()
        self._nda_requested: set[int] = set()

    @property
    def main(self) -> Connection:
        return self.connections[0]

    async def run(self) -> None:
        """Until cancelled: keep the connections up and act at the role's rates."""
        b = self.behaviour
        async with trio.open_nursery() as nursery:
            for connection in self.connections:
                nursery.start_soon(connection.run)
            every: list[tuple[float, Callable[[float], Awaitable[None]]]] = [
                (b.chat, self._chat),
                (b.typing, self._typing),
                (b.presence, self._presence),
                (b.edits if self.owned else 0.0, self._edit),
                (b.reconnects, self._reconnect),
            ]
            every += [(rate, self._http_action(action)) for action, rate in b.http.items()]
            for rate, act in every:
                if rate > 0:
                    nursery.start_soon(self._schedule, rate, act)

    async def _schedule(self, per_min: float, act: Callable[[float], Awaitable[None]]) -> None:
        rate = per_min / 60.0
        intended = trio.current_time() + self.rng.expovariate(rate)
        while True:
            await trio.sleep_until(intended)
            lag = trio.current_time() - intended
            if lag > MAX_LAG_S:
                self.ctx.recorder.count("http.skipped" if act.__name__ == "http" else "ws.skipped")
            else:
                # the intended time as the other clocks see it
                await act(time.perf_counter() - lag)
            intended += self.rng.expovariate(rate)

    async def _ready(self, deadline_lag: float) -> bool:
        with trio.move_on_after(max(0.0, MAX_LAG_S - deadline_lag)):
            await self.main.ready.wait()
            return True
        self.ctx.recorder.count("ws.skipped")
        return False

    # -- socket actions ---------------------------------------------------------------

    async def _chat(self, intended_pc: float) -> None:
        intended_ns = self.ctx.clock.now_ns() - int((time.perf_counter() - intended_pc) * 1e9)
        if not await self._ready(time.perf_counter() - intended_pc):
            return
        self._sent += 1
        room = self.rng.choice(self.rooms)
        client_id = uuid.uuid4().hex
        body = f"{CHAT_PREFIX}{intended_ns} {self.account.user.index} {self._sent}"
        self.main.pending[client_id] = intended_ns
        message = ClientChat(room=room, body=body, client_id=client_id, id=self._sent)
        if await self.main.send(message):
            self.ctx.recorder.count("ws.sent")
        else:
            self.main.pending.pop(client_id, None)
            self.ctx.recorder.count("ws.skipped")

    async def _typing(self, intended_pc: float) -> None:
        room = self.rng.choice(self.rooms)
        for typing in (True, True, False):
            await self.main.send(ClientTyping(room=room, typing=typing))
            if typing:
                await trio.sleep(self.rng.uniform(1.0, 3.0))

    async def _presence(self, intended_pc: float) -> None:
        await self.main.send(ClientPresence(status=self.rng.choice(PRESENCE)))

    async def _edit(self, intended_pc: float) -> None:
        room = self.rng.choice(self.owned)
        version = self.main.versions.get(room)
        if version is None:
            return
        fields = {"logline": f"Revised by load test at {time.time():.3f}"}
        await self.main.send(PitchUpdate(room=room, version=version, fields=fields))

    async def _reconnect(self, intended_pc: float) -> None:
        self.main.drop(self.rng.uniform(0.0, 1.0))

    def storm(self, within: float) -> None:
        for connection in self.connections:
            connection.drop(self.rng.uniform(0.0, within))

    # -- HTTP actions -----------------------------------------------------------------

    def _http_action(self, action: str) -> Callable[[float], Awaitable[None]]:
        async def http(intended_pc: float) -> None:
            api, acc = self.ctx.api, self.account
            token = await acc.fresh_token(api)
            call = {"source": acc.user.source, "token": token, "intended": intended_pc}
            if action == "browse":
                params = {"tab": self.rng.choice(("trending", "new")), "page": 1}
                await api.call("browse", "GET", acc.base, "/api/browse", params=params, **call)
            elif action == "search":
                params = {"search": self.rng.choice(SEARCH_WORDS)}
                await api.call("search", "GET", acc.base, "/api/pitches", params=params, **call)
            elif action == "detail":
                pitch = self.rng.choice(self.ctx.room_ids)
                await api.call("detail", "GET", acc.base, f"/api/pitches/{pitch}", **call)
            elif action == "like":
                pitch = self.rng.choice(self.ctx.room_ids)
                method = "DELETE" if pitch in self._liked else "POST"
                self._liked.symmetric_difference_update({pitch})
                await api.call("like", method, acc.base, f"/api/pitches/{pitch}/like", **call)
            elif action == "nda":
                pitch = self.rng.choice(self.nda_pitch_ids)
                if pitch in self._nda_requested:
                    await api.call("nda", "GET", acc.base, f"/api/pitches/{pitch}/nda", **call)
                else:
                    self._nda_requested.add(pitch)
                    # 409: an NDA request for this pitch exists already (an earlier run)
                    await api.call(
                        "nda", "POST", acc.base, f"/api/pitches/{pitch}/nda",
                        json={"message": "Load test request"}, accept=(409,), **call,
                    )  # fmt: skip

        return http
