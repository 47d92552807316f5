"""The runner's view of the run: worker snapshots merged into totals and a timeline.

Histograms are added bucket by bucket (exact); counters and errors are summed. A timeline
interval is closed once every worker has reported past it; its percentiles come from the
merged interval histograms, and then those histograms are dropped, so memory stays flat
however long the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._histogram import Histogram
from ._metrics import TIMELINE_HISTOGRAMS

TIMELINE_COUNTERS = ("ws.sent", "ws.deliveries", "http.requests", "ws.connects")


@dataclass
class _Interval:
    hists: dict[str, Histogram] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    users: int = 0
    connections: int = 0
    reported: set[int] = field(default_factory=set)


class Aggregate:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.totals: dict[str, Histogram] = {}
        self.setup_totals: dict[str, Histogram] = {}
        self.counters: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.timeline: list[dict[str, Any]] = []
        self.server_samples: dict[int, dict[str, float]] = {}  # interval -> server figures
        self._open: dict[int, _Interval] = {}
        self._progress = dict.fromkeys(range(workers), -1)
        self._gauges: dict[int, tuple[int, int]] = {}

    def add(self, worker: int, index: int, snapshot: dict[str, Any]) -> None:
        """Merge one worker snapshot (``index`` -1: set-up)."""
        totals = self.setup_totals if index < 0 else self.totals
        interval = self._open.setdefault(index, _Interval()) if index >= 0 else None
        for name, data in snapshot.get("hists", {}).items():
            hist = Histogram.decode(data)
            # Set-up routes (register, login) keep their own histograms; a setup snapshot
            # holds no run-phase metrics.
            totals.setdefault(name, Histogram()).merge(hist)
            if interval is not None and name in TIMELINE_HISTOGRAMS:
                interval.hists.setdefault(name, Histogram()).merge(hist)
        counters = snapshot.get("counters", {})
        self.counters.update(counters)
        self.errors.update(snapshot.get("errors", {}))
        self._gauges[worker] = (snapshot.get("users", 0), snapshot.get("connections", 0))
        if interval is not None:
            interval.counters.update({k: v for k, v in counters.items() if k in TIMELINE_COUNTERS})
            interval.errors += counters.get("ws.errors", 0) + counters.get("http.errors", 0)
            interval.users += snapshot.get("users", 0)
            interval.connections += snapshot.get("connections", 0)
            interval.reported.add(worker)
            if not snapshot.get("final"):
                self._progress[worker] = max(self._progress[worker], index)
                self._close(min(self._progress.values()))

    def worker_finished(self, worker: int) -> None:
        self._progress[worker] = 1 << 30
        self._close(min(self._progress.values()))

    def finish(self) -> None:
        self._close(1 << 30)

    @property
    def users(self) -> int:
        return sum(u for u, _ in self._gauges.values())

    @property
    def connections(self) -> int:
        return sum(c for _, c in self._gauges.values())

    def _close(self, upto: int) -> None:
        for index in sorted(i for i in self._open if i <= upto):
            interval = self._open.pop(index)
            point: dict[str, Any] = {
                "t": index + 1,
                "users": interval.users,
                "connections": interval.connections,
                "errors": interval.errors,
                **{name: interval.counters.get(name, 0) for name in TIMELINE_COUNTERS},
            }
            for name in TIMELINE_HISTOGRAMS:
                hist = interval.hists.get(name)
                if hist is not None and hist.count:
                    s = hist.summary()
                    point[name] = {k: s[k] for k in ("count", "p50", "p90", "p99", "max")}
            point.update(self.server_samples.get(index, {}))
            self.timeline.append(point)

    def summaries(self) -> dict[str, Any]:
        """The ``metrics`` map of results.json: histogram summaries (with the encoded
        histogram, so results can be merged later) and counters."""
        out: dict[str, Any] = {}
        for name, hist in sorted(self.totals.items()):
            out[name] = {**hist.summary(), "hdr": hist.encode().decode()}
        for name, value in sorted(self.counters.items()):
            if not name.startswith("setup.") and name not in out:
                out[name] = {"count": value}
        return out

    def setup_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: hist.summary() for name, hist in sorted(self.setup_totals.items())
        }
        out["requests"] = self.counters.get("setup.requests", 0)
        out["errors"] = self.counters.get("setup.errors", 0)
        return out
