"""A one-for-one dynamic supervisor: one nursery, one cancel scope per child.

Vocabulary from Elixir's ``DynamicSupervisor``. Each child runs under its own cancel scope, so
it can be stopped alone, and a crash (any ``Exception``) restarts that child only, according
to its restart policy:

* ``PERMANENT`` — always restarted, also after a normal return;
* ``TRANSIENT`` — restarted only after a crash;
* ``TEMPORARY`` — never restarted.

A child is ``async def child(*args, task_status=trio.TASK_STATUS_IGNORED)`` that calls
``task_status.started(value)`` when ready; ``start_child`` returns that value. A restart calls
it again with the same args; if it declares a keyword ``restarts`` it receives the number of
restarts so far (0 on the first start), so it can tell a restart from a fresh start.

Restart intensity: more than ``max_restarts`` restarts (all children together) within any
``within`` seconds of trio's clock and the supervisor gives up — it cancels every child and
``run`` raises ``SupervisorEscalation`` from the last crash. The first restart of a child is
immediate; further ones within ``within`` seconds wait ``backoff`` seconds, doubling up to
``max_backoff``. Cancelling the supervisor, or a child via ``stop_child``, is never a crash
and never restarts anything.
"""

from __future__ import annotations

import enum
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio

log = structlog.get_logger("realtime.actors")

ChildFn = Callable[..., Awaitable[None]]
OnRestart = Callable[[Hashable, int, Exception | None], None]


class Restart(enum.Enum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


class SupervisorEscalation(Exception):
    """Restart intensity exceeded; ``__cause__`` is the last crash (None after a return)."""


class TooManyChildren(Exception):
    """``start_child`` on a supervisor already running ``max_children`` children."""


@dataclass(eq=False, slots=True)
class _Child:
    key: Hashable
    fn: ChildFn
    args: tuple[Any, ...]
    policy: Restart
    takes_restarts: bool
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    exited: trio.Event = field(default_factory=trio.Event)
    value: Any = None  # what the current incarnation passed to started()
    restarts: int = 0
    last_crash: Exception | None = None
    window: deque[float] = field(default_factory=deque)  # recent restart times, for backoff
    log: Any = None  # bound to the supervisor's and the child's names


class _ChildStatus(trio.TaskStatus[Any]):
    """One incarnation's ``task_status``: records the value; hands the first one to
    ``start_child``'s caller; reports a restart to ``on_restart`` once the child is up."""

    def __init__(self, sup: Supervisor, child: _Child, outer: trio.TaskStatus[Any]) -> None:
        self._sup, self._child, self._outer = sup, child, outer
        self.done = False

    def started(self, value: Any = None) -> None:
        if self.done:
            raise RuntimeError("called 'started' twice on the same task status")
        self.done = True
        self._child.value = value
        if self._child.restarts == 0:
            self._outer.started(value)
        else:
            self._sup._notify_restart(self._child)


class Supervisor:
    """One-for-one dynamic supervisor: one nursery, one cancel scope per child.

    ``on_restart(key, attempt, exc)``, if set, is called once a restarted child has called
    ``started`` (from inside that call, so ``child_value(key)`` is already the new value);
    ``attempt`` counts this child's restarts from 1 and ``exc`` is the crash (None after a
    normal return). Its exceptions are logged, not raised. ``restarts`` counts restarts of
    all children together, for metrics.
    """

    def __init__(
        self,
        name: str,
        *,
        max_restarts: int = 3,
        within: float = 5.0,
        max_children: int | None = None,
        backoff: float = 0.1,
        max_backoff: float = 1.0,
        on_restart: OnRestart | None = None,
    ) -> None:
        self.name = name
        self.max_restarts = max_restarts
        self.within = within
        self.max_children = max_children
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_restart = on_restart
        self.restarts = 0
        self._children: dict[Hashable, _Child] = {}
        self._nursery: trio.Nursery | None = None
        self._ran = False
        self._recent: deque[float] = deque()  # restart times within the intensity window
        self._escalation: tuple[Hashable, Exception | None] | None = None

    def __repr__(self) -> str:
        return f"<Supervisor {self.name!r} {len(self._children)} children>"

    @property
    def children(self) -> int:
        """Children currently alive (a stopped child counts until it has exited)."""
        return len(self._children)

    def keys(self) -> list[Hashable]:
        return list(self._children)

    def has_child(self, key: Hashable) -> bool:
        return key in self._children

    def child_value(self, key: Hashable) -> Any:
        """What the child's current incarnation passed to ``task_status.started``."""
        return self._children[key].value

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Supervise until cancelled (returns quietly) or until restart intensity is exceeded
        (raises ``SupervisorEscalation``). Children are cancelled either way. Runs once."""
        if self._ran:
            raise RuntimeError(f"supervisor {self.name!r} has already run")
        self._ran = True
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
        if self._escalation is not None:
            key, crash = self._escalation
            raise SupervisorEscalation(
                f"supervisor {self.name!r}: more than {self.max_restarts} restarts within "
                f"{self.within}s, last for child {key!r}"
            ) from crash

    async def start_child(
        self, key: Hashable, fn: ChildFn, *args: Any, restart: Restart = Restart.PERMANENT
    ) -> Any:
        """Start ``fn(*args)`` as child ``key``; return what it passed to ``started``.

        ``ValueError`` if ``key`` is running, ``TooManyChildren`` at ``max_children``. The key
        is claimed before the first await. If the child fails before calling ``started`` its
        exception propagates here and it is not restarted.
        """
        nursery = self._nursery
        if nursery is None or nursery.cancel_scope.cancel_called:
            raise RuntimeError(f"supervisor {self.name!r} is not running")
        if key in self._children:
            raise ValueError(f"supervisor {self.name!r}: child {key!r} is already running")
        if self.max_children is not None and len(self._children) >= self.max_children:
            raise TooManyChildren(f"supervisor {self.name!r}: {self.max_children} children")
        child = _Child(key, fn, args, restart, _takes_restarts(fn))
        child.log = log.bind(supervisor=self.name, child=key)
        self._children[key] = child
        try:
            return await nursery.start(self._supervise, child)
        except BaseException:
            self._forget(child)  # it has exited; nothing may keep the key
            raise

    def stop_child(self, key: Hashable) -> bool:
        """Cancel the child's scope; it is not restarted. False if there is no such child.
        The key stays taken until the child has exited (``stop_child_wait`` waits for that)."""
        child = self._children.get(key)
        if child is None:
            return False
        child.scope.cancel()
        return True

    async def stop_child_wait(self, key: Hashable) -> None:
        """``stop_child`` and wait until the child has exited (bound it with a timeout)."""
        child = self._children.get(key)
        if child is not None:
            child.scope.cancel()
            await child.exited.wait()

    async def _supervise(self, child: _Child, *, task_status: trio.TaskStatus[Any]) -> None:
        try:
            with child.scope:
                while True:
                    status = _ChildStatus(self, child, task_status)
                    crash = await self._run_once(child, status)
                    if child.restarts == 0 and not status.done:
                        if crash is not None:
                            raise crash  # never came up: it is start_child's caller's error
                        return  # trio tells start_child's caller "exited without started"
                    if not self._wants_restart(child, crash):
                        child.log.debug("actor_exited", restarts=child.restarts)
                        return
                    if not self._within_intensity():
                        self._escalate(child, crash)
                        return
                    delay = self._backoff(child)
                    child.log.warning(
                        "actor_restarting",
                        attempt=child.restarts + 1,
                        after="return" if crash is None else "crash",
                        delay=delay,
                    )
                    await trio.sleep(delay)  # a checkpoint even at 0: honours cancellation
                    child.restarts += 1
                    child.last_crash = crash
                    self.restarts += 1
        finally:
            self._forget(child)
            child.exited.set()

    async def _run_once(self, child: _Child, status: _ChildStatus) -> Exception | None:
        """Run one incarnation; return its crash, or None if it returned. Cancelled (and any
        other BaseException) propagates untouched."""
        kwargs = {"restarts": child.restarts} if child.takes_restarts else {}
        crash: Exception | None = None
        try:
            await child.fn(*child.args, task_status=status, **kwargs)
        except* Exception as group:
            crash = _leaf(group)
            if status.done or child.restarts > 0:
                child.log.error(
                    "actor_crashed",
                    restart=child.policy.value,
                    restarts=child.restarts,
                    exc_info=crash,
                )
        return crash

    def _wants_restart(self, child: _Child, crash: Exception | None) -> bool:
        if child.scope.cancel_called:  # stop_child, or it swallowed our cancellation
            return False
        if child.policy is Restart.TRANSIENT:
            return crash is not None
        return child.policy is Restart.PERMANENT

    def _within_intensity(self) -> bool:
        """Record a restart now; False if that makes more than max_restarts in the window."""
        now = trio.current_time()
        _prune(self._recent, now - self.within)
        if len(self._recent) >= self.max_restarts:
            return False
        self._recent.append(now)
        return True

    def _backoff(self, child: _Child) -> float:
        now = trio.current_time()
        _prune(child.window, now - self.within)
        recent = len(child.window)
        child.window.append(now)
        return 0.0 if recent == 0 else min(self.max_backoff, self.backoff * 2 ** (recent - 1))

    def _escalate(self, child: _Child, crash: Exception | None) -> None:
        child.log.error(
            "supervisor_escalation",
            max_restarts=self.max_restarts,
            within=self.within,
            exc_info=crash,
        )
        self._escalation = (child.key, crash)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _notify_restart(self, child: _Child) -> None:
        if self.on_restart is None:
            return
        try:
            self.on_restart(child.key, child.restarts, child.last_crash)
        except Exception:
            child.log.exception("on_restart_failed")

    def _forget(self, child: _Child) -> None:
        if self._children.get(child.key) is child:
            del self._children[child.key]


def _leaf(group: ExceptionGroup[Exception]) -> Exception:
    """The one exception ``except*`` wrapped, or the group itself if it holds several."""
    only = group.exceptions[0]
    return only if len(group.exceptions) == 1 and not isinstance(only, ExceptionGroup) else group


def _prune(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


def _takes_restarts(fn: ChildFn) -> bool:
    try:
        param = inspect.signature(fn).parameters.get("restarts")
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return param is not None and param.kind in kinds
