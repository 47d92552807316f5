"""Figures of one measurement, the summary table, and py-spy profile summaries."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

NAN = float("nan")


@dataclass
class Figures:
    """What one run measured against one server (product or floor)."""

    kib_per_conn: float = NAN  # server RSS growth per idle joined connection
    join_cpu_ms: float = NAN  # server CPU per member to connect and join (till idle again)
    p50_ms: float = NAN  # end-to-end latency at the moderate rate
    p99_ms: float = NAN
    max_ms: float = NAN
    first_p50_ms: float = NAN  # per message, latency of its first delivery: the pipeline
    last_p50_ms: float = NAN  # ... and of its last delivery: pipeline + fan-out
    steady_cpu_us: float = NAN  # server CPU per delivery at the moderate rate
    cpu_us: float = NAN  # server CPU microseconds per delivered message (burst)
    rate: float = NAN  # deliveries per second (burst)
    busy: float = NAN  # server CPU seconds per wall second in the burst (1.0 = one core)
    client_us: float = NAN  # client workers' CPU per delivery (burst), a sanity check
    storage_us_per_msg: float | None = None  # PostgreSQL + Redis CPU per chat (product)
    machine: str = ""  # how busy the whole machine was in the burst
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Two lines and the notes, for the progress output."""
        text = (
            f"cpu {self.cpu_us:.1f} µs/delivery, {self.rate:,.0f} deliveries/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms, "
            f"{self.kib_per_conn:.1f} KiB/conn\n"
            f"      latency per message p50: first delivery {self.first_p50_ms:.1f} ms, last "
            f"{self.last_p50_ms:.1f} ms; burst: server busy {100 * self.busy:.0f}% of a core, "
            f"clients {self.client_us:.1f} µs/delivery"
        )
        if self.storage_us_per_msg is not None:
            text += f", PG+Redis {self.storage_us_per_msg:.0f} µs/chat"
        text += f"; {self.machine}"
        return text + "".join(f"\n      note: {note}" for note in self.notes)


ROWS = (
    ("server CPU µs / delivery (burst)", "cpu_us", "{:.1f}"),
    ("deliveries / s (burst)", "rate", "{:,.0f}"),
    ("server CPU µs / delivery (5 msg/s)", "steady_cpu_us", "{:.1f}"),
    ("latency p50 ms (5 msg/s)", "p50_ms", "{:.1f}"),
    ("latency p99 ms (5 msg/s)", "p99_ms", "{:.1f}"),
    ("latency max ms (5 msg/s)", "max_ms", "{:.1f}"),
    ("KiB / idle joined connection", "kib_per_conn", "{:.1f}"),
    ("server CPU ms / connect+join", "join_cpu_ms", "{:.2f}"),
)


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def _cell(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def table(results: dict[int, dict[str, list[Figures]]]) -> str:
    """Median (min-max) per figure, product and floor side by side, and their ratio."""
    lines = [
        f"{'members':>7}  {'figure':<35}{'product':>24}{'floor':>24}{'product/floor':>15}",
        "-" * 107,
    ]
    for members, by_target in results.items():
        product, floor = by_target.get("product", []), by_target.get("floor", [])
        for i, (label, attr, fmt) in enumerate(ROWS):
            p = [getattr(f, attr) for f in product]
            fl = [getattr(f, attr) for f in floor]
            ratio = "-"
            if p and fl and statistics.median(fl):
                ratio = f"{statistics.median(p) / statistics.median(fl):.2f}"
            head = f"{members:>7}" if i == 0 else " " * 7
            lines.append(f"{head}  {label:<35}{_cell(p, fmt):>24}{_cell(fl, fmt):>24}{ratio:>15}")
        storage = [f.storage_us_per_msg for f in product if f.storage_us_per_msg is not None]
        if storage:
            cell = _cell(storage, "{:.0f}")
            lines.append(f"{'':7}  {'PG+Redis CPU µs / chat (product)':<35}{cell:>24}")
        lines.append("")
    return "\n".join(lines)


_ENTRY = ("_run_module_as_main ", "_run_code ", "<module> ", "main (", "run (", "unrolled_run ")


def profile_summary(raw: Path, top: int = 20) -> str:
    """Top frames of a py-spy ``--format raw`` (collapsed stacks) profile: by own samples
    (the frame is on top of the stack) and by total samples (anywhere in the stack)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return "(no samples)"
    out = [f"{samples} samples; top frames by own samples:"]
    out += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out.append("top frames by total samples (inclusive; entry frames left out):")
    inclusive = [(f, n) for f, n in total.most_common() if not f.startswith(_ENTRY)][:top]
    out += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in inclusive]
    return "\n".join(out)
