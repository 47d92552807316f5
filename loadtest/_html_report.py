"""The self-contained HTML report: inline SVG charts and tables, no script, no CDN."""

from __future__ import annotations

import html
import json
import math
from typing import Any

from ._summary import latency_rows
from ._units import format_ms

WIDTH, HEIGHT = 640, 240
PAD_L, PAD_R, PAD_T, PAD_B = 58, 16, 28, 34
COLORS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")

Series = tuple[str, list[tuple[float, float]]]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def line_chart(title: str, unit: str, series: list[Series]) -> str:
    """An SVG line chart: x in seconds, one polyline per series, a legend."""
    esc = html.escape
    points = [p for _, pts in series for p in pts]
    if not points:
        return f'<figure class="chart"><figcaption>{esc(title)}</figcaption><p>no data</p></figure>'
    x_max = max(1.0, max(x for x, _ in points))
    y_max = _nice_max(max(y for _, y in points))
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + plot_w * x / x_max

    def sy(y: float) -> float:
        return PAD_T + plot_h * (1 - y / y_max)

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}">',
        f'<text x="{PAD_L}" y="16" class="title">{esc(title)}</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = sy(value)
        label = f"{value:g}" if value < 1000 else f"{value / 1000:g}k"
        parts.append(
            f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{label}</text>'
        )
    for i in range(6):
        value = x_max * i / 5
        x = sx(value)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD_B + 16}" class="tick" '
            f'text-anchor="middle">{value:.0f}s</text>'
        )
    parts.append(
        f'<text x="14" y="{PAD_T + plot_h / 2:.0f}" class="tick" text-anchor="middle" '
        f'transform="rotate(-90 14 {PAD_T + plot_h / 2:.0f})" '
        f'text-anchor="middle">{esc(unit)}</text>'
    )
    legend_x = PAD_L + 8
    for i, (label, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        if pts:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>'
            )
        parts.append(
            f'<rect x="{legend_x}" y="{PAD_T + 2}" width="10" height="10" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{legend_x + 14}" y="{PAD_T + 11}" class="legend">{esc(label)}</text>'
        )
        legend_x += 22 + 7 * len(label)
    parts.append("</svg>")
    return f'<figure class="chart">{"".join(parts)}</figure>'


def _series(
    timeline: list[dict[str, Any]], key: str, stat: str | None = None
) -> list[tuple[float, float]]:
    out = []
    for point in timeline:
        value = point.get(key)
        if stat is not None:
            value = value.get(stat) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            out.append((float(point["t"]), float(value)))
    return out


def _actual(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def render_html(results: dict[str, Any]) -> str:
    esc = html.escape
    tl = results["timeline"]
    charts = [
        line_chart(
            "WebSocket delivery latency (intended send to receive)",
            "ms",
            [(f"ws {s}", _series(tl, "ws.latency", s)) for s in ("p50", "p90", "p99", "max")],
        ),
        line_chart(
            "HTTP latency",
            "ms",
            [(f"http {s}", _series(tl, "http.latency", s)) for s in ("p50", "p90", "p99")],
        ),
        line_chart(
            "Throughput per second",
            "per s",
            [
                ("chats sent", _series(tl, "ws.sent")),
                ("deliveries", _series(tl, "ws.deliveries")),
                ("HTTP requests", _series(tl, "http.requests")),
            ],
        ),
        line_chart(
            "Users and connections",
            "count",
            [("users", _series(tl, "users")), ("connections", _series(tl, "connections"))],
        ),
        line_chart("Errors per second", "per s", [("errors", _series(tl, "errors"))]),
    ]
    if any("server_cpu_percent" in p for p in tl):
        charts.append(
            line_chart("Server CPU", "%", [("server CPU %", _series(tl, "server_cpu_percent"))])
        )
        charts.append(line_chart("Server memory", "MiB", [("RSS", _series(tl, "server_rss_mb"))]))

    verdict = "PASSED" if results["passed"] else "FAILED"
    rows = []
    for name, s in latency_rows(results["metrics"]):
        cells = "".join(
            f"<td>{format_ms(s.get(k))}</td>" for k in ("p50", "p90", "p95", "p99", "p99.9", "max")
        )
        rows.append(f"<tr><th>{esc(name)}</th><td>{s['count']}</td>{cells}</tr>")
    counts = "".join(
        f"<tr><th>{esc(n)}</th><td>{m['count']}</td><td>{m.get('rate', '')}</td></tr>"
        for n, m in results["metrics"].items()
        if "p50" not in m
    )
    thresholds = "".join(
        f'<tr class="{"ok" if t["ok"] else "fail"}"><td>{"ok" if t["ok"] else "FAIL"}</td>'
        f"<td><code>{esc(t['expr'])}</code></td>"
        f"<td>{_actual(t['actual'])}</td></tr>"
        for t in results["thresholds"]
    )
    errors = (
        "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in results["errors"].items())
        or "<tr><td>none</td></tr>"
    )
    info = {
        "targets": results["targets"],
        "started": results["started_at"],
        "measured": f"{results['duration_s']} s of {results['planned_s']} s planned",
        "interrupted": results["interrupted"],
        "workers": results["workers"],
        "users": results["users"],
        "rooms": results["rooms"],
        "machine": results["machine"],
        "server": results["server"],
        "harness": results["harness"],
        "clock": results["clock"],
        "setup": {k: v for k, v in results["setup"].items() if not isinstance(v, dict)},
    }
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>pitchey-loadtest: {esc(results["scenario"]["name"])}</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111;max-width:1340px}}
h1{{font-size:22px;margin:0 0 4px}} h2{{font-size:17px;margin:24px 0 8px}}
.verdict{{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600;
background:{"#16a34a" if results["passed"] else "#dc2626"}}}
.charts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:12px}}
.chart{{margin:0;border:1px solid #ddd;border-radius:6px;padding:4px}}
svg{{width:100%;height:auto}} .grid{{stroke:#e5e7eb}} .tick{{font-size:11px;fill:#555}}
.title{{font-size:13px;font-weight:600}} .legend{{font-size:11px}}
table{{border-collapse:collapse;margin:4px 0}} td,th{{padding:3px 10px;border-bottom:1px solid #eee;
text-align:right}} th{{text-align:left}} tr.fail td{{color:#dc2626;font-weight:600}}
pre{{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}}
</style></head><body>
<h1>{esc(results["scenario"]["name"])} <span class="verdict">{verdict}</span></h1>
<p>{esc(results["scenario"]["description"])}</p>
<h2>Thresholds</h2><table>{thresholds or "<tr><td>none</td></tr>"}</table>
<h2>Charts</h2><div class="charts">{"".join(charts)}</div>
<h2>Latency (ms)</h2>
<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th>
<th>max</th></tr>{"".join(rows)}</table>
<h2>Counts</h2><table><tr><th></th><th>count</th><th>per s</th></tr>{counts}</table>
<h2>Errors by kind</h2><table>{errors}</table>
<h2>Run</h2><pre>{esc(json.dumps(info, indent=1))}</pre>
<h2>Scenario</h2><pre>{esc(json.dumps(results["scenario"]["definition"], indent=1))}</pre>
</body></html>
"""
