"""The summary table printed at the end of a run."""

from __future__ import annotations

from typing import Any

from ._units import format_ms

COUNTED = (
    "ws.connects",
    "ws.sent",
    "ws.deliveries",
    "http.requests",
    "ws.reconnects",
    "ws.gaps",
    "ws.duplicates",
    "ws.skipped",
    "ws.unacked",
    "ws.errors",
    "http.errors",
)
_ORDER = ("ws.connect", "ws.join", "ws.latency", "ws.ack", "ws.reconnect", "http.latency")


def latency_rows(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    named = [(n, metrics[n]) for n in _ORDER if n in metrics]
    routes = sorted(
        (n, m)
        for n, m in metrics.items()
        if n.startswith("http.") and "p50" in m and n not in _ORDER
    )
    return named + routes


def format_summary(results: dict[str, Any]) -> str:
    m = results["metrics"]
    lines = [
        f"scenario {results['scenario']['name']}: {results['duration_s']:.1f}s measured"
        f"{' (interrupted)' if results['interrupted'] else ''}, "
        f"{results['users']['peak']} users peak, {results['rooms']} rooms, "
        f"{results['workers']} workers",
    ]
    if results.get("setup_failed"):
        lines.append(f"SET-UP FAILED: {results['setup_failed']}")
    header = f"{'latency (ms)':<18}{'count':>9}" + "".join(
        f"{s:>9}" for s in ("p50", "p90", "p95", "p99", "p99.9", "max")
    )
    lines += ["", header, "-" * len(header)]
    for name, s in latency_rows(m):
        cells = "".join(
            f"{format_ms(s.get(k)):>9}" for k in ("p50", "p90", "p95", "p99", "p99.9", "max")
        )
        lines.append(f"{name:<18}{s['count']:>9}{cells}")
    lines.append("")
    counts = []
    for name in COUNTED:
        if name in m:
            rate = f" ({m[name]['rate']}/s)" if "rate" in m[name] else ""
            counts.append(f"{name} {m[name]['count']}{rate}")
    lines.append("counts: " + (", ".join(counts) or "none"))
    server = results.get("server") or {}
    if server:
        parts = [f"{k} {v}" for k, v in server.items() if k != "pids"]
        lines.append("server: " + ", ".join(parts))
    harness = results.get("harness") or {}
    if harness.get("workers_cpu_percent_each", 0) > 90:
        lines.append(
            f"warning: the workers used {harness['workers_cpu_percent_each']}% CPU each; the "
            "load generator was saturated and latencies include its own delays"
        )
    if results["errors"]:
        top = list(results["errors"].items())[:8]
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in top))
    if results["thresholds"]:
        lines += ["", "thresholds:"]
        for t in results["thresholds"]:
            actual = "no data" if t["actual"] is None else f"{t['actual']:.4g}"
            lines.append(f"  {'ok  ' if t['ok'] else 'FAIL'}  {t['expr']:<32} actual {actual}")
    lines.append("")
    lines.append("PASSED" if results["passed"] else "FAILED")
    return "\n".join(lines)
