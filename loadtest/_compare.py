"""``pitchey-loadtest compare A.json B.json``: what changed between two runs."""

from __future__ import annotations

from typing import Any

from ._summary import latency_rows
from ._units import format_ms

STATS = ("p50", "p95", "p99", "max")
COUNTS = ("ws.sent", "ws.deliveries", "http.requests", "ws.errors", "http.errors", "ws.gaps",
          "ws.duplicates", "ws.reconnects")  # fmt: skip


def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    if a == 0:
        return "=" if b == 0 else "new"
    change = (b - a) / a * 100
    return f"{change:+.1f}%"


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A table of latency statistics and counts, A then B and the change."""
    lines = [
        f"A: {a['scenario']['name']} at {a.get('started_at')}, {a['duration_s']}s, "
        f"{'passed' if a['passed'] else 'failed'}",
        f"B: {b['scenario']['name']} at {b.get('started_at')}, {b['duration_s']}s, "
        f"{'passed' if b['passed'] else 'failed'}",
        "",
        f"{'metric':<22}{'A':>10}{'B':>10}{'change':>10}",
    ]
    names = [n for n, _ in latency_rows(a["metrics"])]
    names += [n for n, _ in latency_rows(b["metrics"]) if n not in names]
    for name in names:
        ma, mb = a["metrics"].get(name, {}), b["metrics"].get(name, {})
        for stat in STATS:
            va, vb = ma.get(stat), mb.get(stat)
            if va is None and vb is None:
                continue
            lines.append(
                f"{name + '.' + stat:<22}{format_ms(va):>10}{format_ms(vb):>10}{_delta(va, vb):>10}"
            )
    for name in COUNTS:
        ma, mb = a["metrics"].get(name, {}), b["metrics"].get(name, {})
        key = "rate" if "rate" in ma or "rate" in mb else "count"
        va, vb = ma.get(key, 0), mb.get(key, 0)
        if va or vb:
            label = f"{name}{'/s' if key == 'rate' else ''}"
            lines.append(f"{label:<22}{va:>10}{vb:>10}{_delta(va, vb):>10}")
    ta = {t["expr"]: t["ok"] for t in a.get("thresholds", [])}
    tb = {t["expr"]: t["ok"] for t in b.get("thresholds", [])}
    changed = [e for e in {**ta, **tb} if ta.get(e) != tb.get(e)]
    for expr in changed:
        lines.append(f"threshold {expr}: {_verdict(ta.get(expr))} -> {_verdict(tb.get(expr))}")
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "absent" if ok is None else "ok" if ok else "FAIL"
