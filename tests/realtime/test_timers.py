"""The shared timers: order, cancellation, wake-up for an earlier deadline, and a failing
callback that does not stop the others. Virtual time (MockClock)."""

from __future__ import annotations

import trio
import trio.testing

from realtime._timers import Timers


async def _with_timers(body) -> None:
    timers = Timers()
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.run)
        await body(timers)
        nursery.cancel_scope.cancel()


async def test_callbacks_run_at_their_deadlines_in_order(autojump_clock) -> None:
    ran: list[tuple[str, float]] = []

    async def body(timers: Timers) -> None:
        start = trio.current_time()
        for name, delay in (("c", 3.0), ("a", 1.0), ("b", 2.0), ("a2", 1.0)):
            timers.call_at(start + delay, lambda n=name: ran.append((n, trio.current_time())))
        await trio.sleep(5)
        assert [(n, t - start) for n, t in ran] == [("a", 1), ("a2", 1), ("b", 2), ("c", 3)]
        assert len(timers) == 0

    await _with_timers(body)


async def test_a_cancelled_timer_never_runs(autojump_clock) -> None:
    ran: list[str] = []

    async def body(timers: Timers) -> None:
        kept = timers.call_after(1, lambda: ran.append("kept"))
        dropped = timers.call_after(1, lambda: ran.append("dropped"))
        dropped.cancel()
        assert kept.pending and not dropped.pending
        await trio.sleep(2)
        assert not kept.pending

    await _with_timers(body)
    assert ran == ["kept"]


async def test_an_earlier_deadline_wakes_the_sleeping_task(autojump_clock) -> None:
    ran: list[float] = []

    async def body(timers: Timers) -> None:
        start = trio.current_time()
        timers.call_after(100, lambda: None)
        await trio.sleep(1)  # the timer task now sleeps until start + 100
        timers.call_after(1, lambda: ran.append(trio.current_time() - start))
        await trio.sleep(5)

    await _with_timers(body)
    assert ran == [2]


async def test_a_failing_callback_is_logged_and_the_rest_still_run(autojump_clock) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    async def body(timers: Timers) -> None:
        timers.call_after(1, boom)
        timers.call_after(1, lambda: ran.append("after"))
        await trio.sleep(2)

    await _with_timers(body)
    assert ran == ["after"]
