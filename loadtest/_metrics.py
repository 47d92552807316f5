"""What a worker measures, and how it ships it to the runner.

A :class:`Recorder` keeps, since its last snapshot, one histogram per latency metric,
counters and errors by kind. ``snapshot()`` hands those deltas over (histograms encoded)
and starts afresh, so a worker that dies loses at most one interval and the runner's
totals are plain sums.

Set-up work (creating and logging in accounts, creating rooms) is recorded in its own
phase: it has its own route histograms and counters and never enters ``http.latency``,
``http.requests`` or ``http.errors``, which describe the measured run only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ._histogram import Histogram

# Latency metrics whose percentiles are also kept per interval (the report's timeline).
TIMELINE_HISTOGRAMS = ("ws.latency", "http.latency", "ws.connect")


class Recorder:
    def __init__(self) -> None:
        self.setup = True
        self._hists: dict[str, Histogram] = {}
        self._counters: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self.users = 0  # gauges: current values, not deltas
        self.connections = 0

    def observe_ms(self, name: str, value_ms: float) -> None:
        hist = self._hists.get(name)
        if hist is None:
            hist = self._hists[name] = Histogram()
        hist.record_ms(value_ms)

    def count(self, name: str, n: int = 1) -> None:
        self._counters[name] += n

    def error(self, kind: str) -> None:
        """An error by kind, e.g. ``ws.close.4008`` or ``http.browse.503``; it also counts
        towards ``ws.errors`` or ``http.errors`` (``setup.errors`` during set-up)."""
        self._errors[kind] += 1
        if self.setup:
            self._counters["setup.errors"] += 1
        elif kind.startswith("http."):
            self._counters["http.errors"] += 1
        else:
            self._counters["ws.errors"] += 1

    def http(self, route: str, elapsed_ms: float, error: str | None) -> None:
        """One HTTP request of ``route`` (a name like ``browse``)."""
        self.observe_ms(f"http.{route}", elapsed_ms)
        if self.setup:
            self._counters["setup.requests"] += 1
        else:
            self.observe_ms("http.latency", elapsed_ms)
            self._counters["http.requests"] += 1
        if error is not None:
            self.error(f"http.{route}.{error}")

    def snapshot(self) -> dict[str, Any]:
        out = {
            "hists": {name: h.encode() for name, h in self._hists.items() if h.count},
            "counters": dict(self._counters),
            "errors": dict(self._errors),
            "users": self.users,
            "connections": self.connections,
        }
        self._hists = {}
        self._counters = Counter()
        self._errors = Counter()
        return out
