"""results.json: everything a run measured, in one document that ``compare`` and the HTML
report read back. Histograms are included encoded (``hdr``) so runs can be merged."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from ._errors import ResultsError
from ._thresholds import evaluate

FORMAT = "pitchey-loadtest/1"


def build_results(outcome: Any) -> dict[str, Any]:
    sc = outcome.scenario
    agg = outcome.aggregate
    metrics = agg.summaries()
    duration = outcome.measured_s
    for name in ("ws.sent", "ws.deliveries", "http.requests", "ws.connects"):
        if name in metrics and duration > 0:
            metrics[name]["rate"] = round(metrics[name]["count"] / duration, 2)
    server = dict(outcome.server)
    deliveries = metrics.get("ws.deliveries", {}).get("count", 0)
    if "cpu_s" in server and deliveries:
        server["cpu_us_per_delivery"] = round(server["cpu_s"] * 1e6 / deliveries, 2)
    verdicts = evaluate(sc.thresholds, metrics, duration)
    timeline = agg.timeline
    for point in timeline:
        point.update(agg.server_samples.get(point["t"] - 1, {}))
    peak_connections = max((p["connections"] for p in timeline), default=0)
    if peak_connections and "rss_mb_max" in server and "rss_mb_start" in server:
        grown = server["rss_mb_max"] - server["rss_mb_start"]
        server["rss_kib_per_connection"] = round(grown * 1024 / peak_connections, 1)
    return {
        "format": FORMAT,
        "scenario": {
            "name": sc.name,
            "source": sc.source,
            "description": sc.description,
            "definition": sc.raw,
        },
        "targets": [{"http": t.http, "ws": t.ws} for t in sc.targets],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(outcome.started_at))
        if outcome.started_at
        else None,
        "duration_s": round(duration, 3),
        "planned_s": sc.duration,
        "interrupted": outcome.interrupted,
        "setup_failed": outcome.setup_failed,
        "workers": sc.run.workers,
        "users": {
            "roster": sc.roster_size,
            "peak": sc.peak_users,
            "accounts_failed": outcome.accounts_failed,
        },
        "connections_peak": peak_connections,
        "rooms": len(outcome.rooms),
        "machine": {
            "host": platform.node(),
            "python": platform.python_version(),
            "cpus": outcome.harness.get("cpus"),
        },
        "clock": {"workers": outcome.worker_clocks, "server": outcome.server_clocks},
        "metrics": metrics,
        "errors": dict(sorted(agg.errors.items(), key=lambda kv: -kv[1])),
        "setup": agg.setup_summary(),
        "server": server,
        "harness": outcome.harness,
        "timeline": timeline,
        "thresholds": [
            {"expr": v.threshold.expr, "actual": v.actual, "ok": v.ok} for v in verdicts
        ],
        "passed": all(v.ok for v in verdicts) and not outcome.setup_failed,
    }


def write_results(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")


def load_results(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise ResultsError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResultsError(f"{path}: not a {FORMAT} results file")
    return data
