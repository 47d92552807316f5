"""One task for every connection's deadlines: heartbeats, token expiry, close timeouts.

A sleeping trio task per timer costs about 2 KiB, and a connection has several timers;
ten thousand idle connections would hold tens of megabytes of parked tasks. Here a timer
is a small heap entry, and one task sleeps until the earliest deadline and runs what is
due. Callbacks are synchronous and must be quick (send a frame, start a close); one that
raises is logged and the others still run. Deadlines are on trio's clock, so MockClock
drives them in tests.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable

import structlog
import trio

log = structlog.get_logger("realtime.timers")


class Timer:
    """A scheduled callback; :meth:`cancel` keeps it from running (idempotent)."""

    __slots__ = ("callback", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], object]) -> None:
        self.deadline = deadline
        self.callback: Callable[[], object] | None = callback

    def cancel(self) -> None:
        self.callback = None

    @property
    def pending(self) -> bool:
        return self.callback is not None


class Timers:
    """A heap of deadlines served by :meth:`run` (one task for all of them)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()  # ties run in the order they were scheduled
        self._sleeping_until = math.inf
        self._wake = trio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` once trio's clock reaches ``deadline``."""
        timer = Timer(deadline, callback)
        heapq.heappush(self._heap, (deadline, next(self._order), timer))
        if deadline < self._sleeping_until:
            self._wake.set()
        return timer

    def call_after(self, delay: float, callback: Callable[[], object]) -> Timer:
        return self.call_at(trio.current_time() + delay, callback)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the timers until cancelled."""
        task_status.started()
        heap = self._heap
        while True:
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                timer = heapq.heappop(heap)[2]
                callback, timer.callback = timer.callback, None
                if callback is None:
                    continue  # cancelled
                try:
                    callback()
                except Exception:
                    log.exception("timer_callback_failed", callback=repr(callback))
            self._sleeping_until = heap[0][0] if heap else math.inf
            self._wake = trio.Event()
            with trio.move_on_at(self._sleeping_until):
                await self._wake.wait()
