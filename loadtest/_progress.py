"""What the operator sees while a run goes: one live line rewritten in place on a
terminal, or a plain line every few seconds when the output is a file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from ._units import format_ms

if TYPE_CHECKING:
    from ._aggregate import Aggregate

PLAIN_EVERY_S = 5


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.quiet = quiet
        self._last_counts: dict[str, int] = {}
        self._last_tick = 0
        self._line_open = False

    def note(self, text: str) -> None:
        if self.quiet:
            return
        self._end_line()
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)

    def tick(self, second: int, duration: float, agg: Aggregate) -> None:
        if self.quiet:
            return
        if not self.live and second % PLAIN_EVERY_S and second < duration:
            return
        span = max(1, second - self._last_tick)
        rates = {}
        for name in ("ws.sent", "ws.deliveries", "http.requests"):
            now = agg.counters.get(name, 0)
            rates[name] = (now - self._last_counts.get(name, 0)) / span
            self._last_counts[name] = now
        self._last_tick = second
        latency = agg.totals.get("ws.latency")
        p99 = format_ms(latency.percentile_ms(99)) if latency is not None and latency.count else "-"
        errors = agg.counters.get("ws.errors", 0) + agg.counters.get("http.errors", 0)
        line = (
            f"{min(second, int(duration)):>4}/{int(duration)}s  users {agg.users:>5}  "
            f"conns {agg.connections:>5}  sent/s {rates['ws.sent']:>7.1f}  "
            f"deliv/s {rates['ws.deliveries']:>8.1f}  http/s {rates['http.requests']:>6.1f}  "
            f"ws p99 {p99:>6} ms  errors {errors}"
        )
        if self.live:
            print("\r\x1b[2K" + line, end="", file=self.stream, flush=True)
            self._line_open = True
        else:
            print(line, file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self._line_open:
            print(file=self.stream, flush=True)
            self._line_open = False

    def close(self) -> None:
        self._end_line()
