"""One-for-one supervision: restart policies, intensity, stopping, and the actor registry."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, MutableMapping
from itertools import pairwise
from typing import Any

import pytest
import structlog
import trio
import trio.testing
from structlog.testing import capture_logs

from realtime import _supervisor
from realtime._actor import ActorRef, Mailbox, Reply
from realtime._registry import Registry
from realtime._supervisor import Restart, Supervisor, SupervisorEscalation, TooManyChildren


class Boom(Exception):
    pass


class Starts:
    """Records each start of a child (its ``restarts`` number) so a test can wait for them."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.times: list[float] = []
        self._changed = trio.Event()

    def record(self, restarts: int) -> None:
        self.seen.append(restarts)
        self.times.append(trio.current_time())
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int) -> None:
        while len(self.seen) < count:
            await self._changed.wait()


async def crashes_first(
    starts: Starts, *, restarts: int, task_status: trio.TaskStatus[int]
) -> None:
    """Crashes on its first run, then stays up."""
    starts.record(restarts)
    task_status.started(restarts)
    if restarts == 0:
        raise Boom("first run")
    await trio.sleep_forever()


async def returns_first(
    starts: Starts, *, restarts: int, task_status: trio.TaskStatus[int]
) -> None:
    """Returns on its first run, then stays up."""
    starts.record(restarts)
    task_status.started(restarts)
    if restarts == 0:
        return
    await trio.sleep_forever()


async def always_crashes(
    starts: Starts, *, restarts: int, task_status: trio.TaskStatus[int]
) -> None:
    starts.record(restarts)
    task_status.started(restarts)
    raise Boom(f"run {restarts}")


async def stays_up(starts: Starts, *, task_status: trio.TaskStatus[None]) -> None:
    """Takes no ``restarts`` keyword; records 0 for every start."""
    starts.record(0)
    task_status.started()
    await trio.sleep_forever()


async def counter(*, task_status: trio.TaskStatus[ActorRef[int | Reply[int]]]) -> None:
    """Adds the ints it is told; answers a Reply with the total."""
    total = 0
    with Mailbox[int | Reply[int]]("counter", capacity=8) as mailbox:
        task_status.started(mailbox.ref)
        async for message in mailbox:
            if isinstance(message, Reply):
                message.send(total)
            else:
                total += message


@pytest.fixture(autouse=True)
def actor_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """What the supervisor logs during a test, captured rather than rendered. A fresh logger,
    so that capture works whatever structlog has cached from an earlier configuration."""
    with capture_logs() as logs:
        monkeypatch.setattr(_supervisor, "log", structlog.get_logger("realtime.actors"))
        yield logs


async def start_supervisor(nursery: trio.Nursery, **options: object) -> Supervisor:
    supervisor = Supervisor("test", **options)  # type: ignore[arg-type]
    await nursery.start(supervisor.run)
    return supervisor


async def test_start_child_returns_what_the_child_passed_to_started(
    nursery: trio.Nursery,
) -> None:
    supervisor = await start_supervisor(nursery)
    ref = await supervisor.start_child("counter", counter)
    assert isinstance(ref, ActorRef)
    assert supervisor.child_value("counter") is ref
    assert supervisor.has_child("counter") and supervisor.keys() == ["counter"]


async def test_permanent_child_is_restarted_after_a_crash(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", crashes_first, starts)
    with trio.fail_after(5):
        await starts.wait_for(2)
    assert supervisor.has_child("c") and supervisor.restarts == 1


async def test_permanent_child_is_restarted_after_a_normal_return(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", returns_first, starts)
    with trio.fail_after(5):
        await starts.wait_for(2)
    assert supervisor.has_child("c") and supervisor.restarts == 1


async def test_transient_child_is_restarted_after_a_crash(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", crashes_first, starts, restart=Restart.TRANSIENT)
    with trio.fail_after(5):
        await starts.wait_for(2)
    assert supervisor.restarts == 1


async def test_transient_child_is_not_restarted_after_a_normal_return(
    nursery: trio.Nursery,
) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", returns_first, starts, restart=Restart.TRANSIENT)
    await trio.testing.wait_all_tasks_blocked()
    assert starts.seen == [0] and not supervisor.has_child("c") and supervisor.restarts == 0


async def test_temporary_child_is_never_restarted(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", crashes_first, starts, restart=Restart.TEMPORARY)
    await trio.testing.wait_all_tasks_blocked()
    assert starts.seen == [0] and not supervisor.has_child("c") and supervisor.restarts == 0


async def test_restarted_child_receives_its_restart_count(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    supervisor = await start_supervisor(nursery, max_restarts=10)
    starts = Starts()
    await supervisor.start_child("c", always_crashes, starts)
    with trio.fail_after(10):
        await starts.wait_for(4)
    assert starts.seen[:4] == [0, 1, 2, 3]


async def test_child_without_a_restarts_parameter_is_restarted_with_the_same_args(
    nursery: trio.Nursery,
) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    labels: list[str] = []

    async def crashes_once(label: str, *, task_status: trio.TaskStatus[None]) -> None:
        labels.append(label)
        starts.record(0)
        task_status.started()
        if len(labels) == 1:
            raise Boom()
        await trio.sleep_forever()

    await supervisor.start_child("c", crashes_once, "room:1")
    with trio.fail_after(5):
        await starts.wait_for(2)
    assert labels == ["room:1", "room:1"]


async def test_restarts_back_off_exponentially_up_to_a_cap(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    supervisor = await start_supervisor(nursery, max_restarts=100, within=100.0)
    starts = Starts()
    await supervisor.start_child("c", always_crashes, starts)
    with trio.fail_after(30):
        await starts.wait_for(8)
    gaps = [later - earlier for earlier, later in pairwise(starts.times)]
    assert gaps == pytest.approx([0, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


async def test_exceeding_restart_intensity_escalates_and_cancels_the_other_children(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = Supervisor("test", max_restarts=3, within=5.0)
    sibling_cancelled = trio.Event()

    async def sibling(*, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            sibling_cancelled.set()

    starts = Starts()
    with trio.fail_after(10), pytest.RaisesGroup(SupervisorEscalation) as caught:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            await supervisor.start_child("sibling", sibling)
            await supervisor.start_child("c", always_crashes, starts)
    escalation = caught.value.exceptions[0]
    assert isinstance(escalation.__cause__, Boom) and str(escalation.__cause__) == "run 3"
    assert starts.seen == [0, 1, 2, 3] and supervisor.restarts == 3
    assert sibling_cancelled.is_set() and supervisor.children == 0


async def test_restarts_spread_wider_than_the_window_do_not_escalate(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    supervisor = await start_supervisor(nursery, max_restarts=1, within=1.0)
    crash_now = trio.Event()

    async def crashes_on_demand(*, task_status: trio.TaskStatus[None]) -> None:
        nonlocal crash_now
        task_status.started()
        await crash_now.wait()
        crash_now = trio.Event()
        raise Boom()

    await supervisor.start_child("c", crashes_on_demand)
    for _ in range(3):
        crash_now.set()
        await trio.sleep(2)
    assert supervisor.restarts == 3 and supervisor.has_child("c")


async def test_a_crash_leaves_sibling_children_running_with_their_state(
    nursery: trio.Nursery,
) -> None:
    supervisor = await start_supervisor(nursery)
    ref = await supervisor.start_child("counter", counter)
    ref.tell(5)
    starts = Starts()
    await supervisor.start_child("c", crashes_first, starts)
    with trio.fail_after(5):
        await starts.wait_for(2)
        ref.tell(2)
        assert await ref.ask(lambda reply: reply) == 7
    assert supervisor.child_value("counter") is ref


async def test_a_crash_is_logged_with_the_child_key_and_exc_info(
    nursery: trio.Nursery, actor_logs: list[MutableMapping[str, Any]]
) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("room:7", crashes_first, starts)
    with trio.fail_after(5):
        await starts.wait_for(2)
    crash = next(entry for entry in actor_logs if entry["event"] == "actor_crashed")
    assert crash["child"] == "room:7" and isinstance(crash["exc_info"], Boom)
    assert crash["log_level"] == "error"
    restart = next(entry for entry in actor_logs if entry["event"] == "actor_restarting")
    assert restart["child"] == "room:7" and restart["attempt"] == 1


async def test_stopped_child_is_not_restarted(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("c", stays_up, starts)
    assert supervisor.stop_child("c")
    await trio.testing.wait_all_tasks_blocked()
    assert not supervisor.has_child("c")
    assert starts.seen == [0] and supervisor.restarts == 0


async def test_stop_child_wait_returns_once_the_child_has_exited(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    supervisor = await start_supervisor(nursery)
    cleaned_up = False

    async def slow_to_stop(*, task_status: trio.TaskStatus[None]) -> None:
        nonlocal cleaned_up
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(1)
            cleaned_up = True

    await supervisor.start_child("c", slow_to_stop)
    with trio.fail_after(5):
        await supervisor.stop_child_wait("c")
    assert cleaned_up and not supervisor.has_child("c")


async def test_stop_child_of_an_unknown_key_returns_false(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    assert supervisor.stop_child("nobody") is False
    await supervisor.stop_child_wait("nobody")


async def test_max_children_is_enforced(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery, max_children=2)
    starts = Starts()
    await supervisor.start_child("a", stays_up, starts)
    await supervisor.start_child("b", stays_up, starts)
    with pytest.raises(TooManyChildren):
        await supervisor.start_child("c", stays_up, starts)
    await supervisor.stop_child_wait("a")
    await supervisor.start_child("c", stays_up, starts)
    assert sorted(supervisor.keys()) == ["b", "c"]  # type: ignore[type-var]


async def test_starting_a_running_key_again_raises_value_error(nursery: trio.Nursery) -> None:
    supervisor = await start_supervisor(nursery)
    starts = Starts()
    await supervisor.start_child("a", stays_up, starts)
    with pytest.raises(ValueError):
        await supervisor.start_child("a", stays_up, starts)
    assert starts.seen == [0]


async def test_on_restart_is_called_with_key_attempt_and_crash(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    calls: list[tuple[Hashable, int, Exception | None, object]] = []
    supervisor = await start_supervisor(nursery, max_restarts=10)

    def on_restart(key: Hashable, attempt: int, exc: Exception | None) -> None:
        calls.append((key, attempt, exc, supervisor.child_value(key)))

    supervisor.on_restart = on_restart
    starts = Starts()
    await supervisor.start_child("c", always_crashes, starts)
    with trio.fail_after(10):
        await starts.wait_for(3)
    assert [(key, attempt, value) for key, attempt, _, value in calls] == [("c", 1, 1), ("c", 2, 2)]
    assert [str(exc) for *_, exc, _ in calls] == ["run 0", "run 1"]


async def test_cancelling_the_supervisor_cancels_children_without_escalation(
    actor_logs: list[MutableMapping[str, Any]],
) -> None:
    supervisor = Supervisor("test", max_restarts=0)
    exited: list[str] = []

    async def child(name: str, *, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            exited.append(name)

    with trio.fail_after(5), trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            await supervisor.start_child("a", child, "a")
            await supervisor.start_child("b", child, "b")
            scope.cancel()
    assert scope.cancelled_caught
    assert sorted(exited) == ["a", "b"] and supervisor.children == 0
    assert supervisor.restarts == 0
    assert not [entry for entry in actor_logs if entry["log_level"] != "debug"]


async def test_a_child_failing_before_started_raises_in_start_child(
    nursery: trio.Nursery,
) -> None:
    supervisor = await start_supervisor(nursery)
    attempts = 0

    async def fails_to_start(*, task_status: trio.TaskStatus[None]) -> None:
        nonlocal attempts
        attempts += 1
        raise Boom("cannot start")

    with pytest.raises(Boom, match="cannot start"):
        await supervisor.start_child("c", fails_to_start)
    await trio.testing.wait_all_tasks_blocked()
    assert attempts == 1 and not supervisor.has_child("c") and supervisor.restarts == 0


async def test_start_child_needs_a_running_supervisor() -> None:
    with pytest.raises(RuntimeError):
        await Supervisor("idle").start_child("c", stays_up, Starts())


# -- the registry --------------------------------------------------------------------------


def test_registry_register_rejects_a_taken_key() -> None:
    registry = Registry[str, int]("rooms")
    registry.register("a", 1)
    with pytest.raises(ValueError):
        registry.register("a", 2)
    assert registry.get("a") == 1 and registry.get("b") is None


def test_registry_unregister_removes_only_the_same_value() -> None:
    registry = Registry[str, object]("rooms")
    old, new = object(), object()
    registry.register("a", new)
    assert registry.unregister("a", old) is False
    assert registry.get("a") is new
    assert registry.unregister("a", new) is True
    assert registry.get("a") is None and registry.unregister("a", new) is False


def test_registry_len_and_items() -> None:
    registry = Registry[str, int]("rooms")
    registry.register("a", 1)
    registry.register("b", 2)
    assert len(registry) == 2 and "a" in registry
    assert sorted(registry.items()) == [("a", 1), ("b", 2)]
