"""Real runs: worker processes against a node of the test suite, over real sockets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import trio

from loadtest import build_results, compare, load_results, parse_scenario, render_html
from loadtest._progress import Progress
from loadtest._runner import Runner
from loadtest._summary import format_summary

from support import RunningNode


def scenario_text(node: RunningNode, *, hold: str, source: str) -> str:
    return f"""
name = "test-run"
description = "a short real run"
thresholds = ["ws.latency.p99 < 2s", "ws.gaps == 0", "ws.duplicates == 0",
              "http.errors < 5%", "ws.deliveries > 0"]
[target]
http = "{node.http}"
ws = "{node.ws}"
source_addresses = ["{source}"]
[users]
creator = 2
investor = 4
[rooms]
count = 2
nda_pitches = 1
[[stages]]
duration = "1s"
users = 6
[[stages]]
duration = "{hold}"
users = 6
[behaviour.creator]
chat_per_min = 60
edits_per_min = 10
http_per_min = {{ browse = 20 }}
[behaviour.investor]
chat_per_min = 60
typing_per_min = 6
reconnects_per_min = 6
http_per_min = {{ detail = 20, like = 10, nda = 10 }}
[run]
workers = 2
max_duration = "60s"
setup_timeout = "30s"
"""


async def test_a_short_run_measures_deliveries_and_passes(
    node: RunningNode, tmp_path: Path
) -> None:
    scenario = parse_scenario(scenario_text(node, hold="4s", source="127.11.0.0/28"))
    runner = Runner(scenario, login=False, log_dir=tmp_path, progress=Progress(quiet=True))
    with trio.fail_after(60):
        outcome = await runner.run()
    results = build_results(outcome)
    m = results["metrics"]
    assert results["setup_failed"] is None, results["errors"]
    assert results["users"]["accounts_failed"] == 0
    # every chat reaches every member of its room (three members per room), sender included
    assert m["ws.sent"]["count"] > 0
    assert m["ws.deliveries"]["count"] >= m["ws.sent"]["count"]
    assert m["ws.latency"]["count"] == m["ws.deliveries"]["count"]
    assert m["ws.connect"]["count"] >= 6 and m["ws.join"]["count"] >= 6
    assert m["http.detail"]["count"] > 0 and m["http.ws_token"]["count"] >= 6
    assert results["passed"], format_summary(results)
    assert results["timeline"] and max(p["users"] for p in results["timeline"]) == 6
    page = render_html(results)
    assert page.count("<svg") >= 5 and "http://" not in page.split("<body>")[0]
    out = tmp_path / "results.json"
    out.write_text(json.dumps(results))
    again = load_results(out)
    assert "ws.latency.p99" in compare(again, again)


async def test_ctrl_c_stops_the_run_and_still_writes_the_report(
    node: RunningNode, tmp_path: Path
) -> None:
    scenario = tmp_path / "long.toml"
    scenario.write_text(scenario_text(node, hold="40s", source="127.12.0.0/28"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "loadtest", "run", str(scenario), "--out", str(out)]
    log = tmp_path / "stderr.txt"
    with log.open("wb") as stderr:
        async with trio.open_nursery() as nursery:
            run = partial(trio.run_process, command, check=False, stdout=stderr, stderr=stderr)
            proc = await nursery.start(run)
            with trio.fail_after(60):
                for _ in range(500):  # wait for the stages to begin, then for some load
                    if b"load started" in log.read_bytes():
                        break
                    await trio.sleep(0.1)
                await trio.sleep(3)
                proc.send_signal(signal.SIGINT)
                await proc.wait()
    assert proc.returncode == 130
    results = load_results(out / "results.json")
    assert results["interrupted"] is True
    assert 0 < results["duration_s"] < 40
    assert (out / "report.html").read_text().count("<svg") >= 5
    assert results["metrics"]["ws.connect"]["count"] >= 6


def test_compare_prints_changes_between_runs(tmp_path: Path) -> None:
    base = {
        "format": "pitchey-loadtest/1",
        "scenario": {"name": "x"},
        "started_at": None,
        "duration_s": 10,
        "passed": True,
        "thresholds": [{"expr": "ws.latency.p99 < 50ms", "ok": True}],
        "metrics": {
            "ws.latency": {"count": 5, "p50": 2.0, "p95": 4.0, "p99": 10.0, "max": 12.0},
            "ws.sent": {"count": 100, "rate": 10.0},
        },
    }
    worse = json.loads(json.dumps(base))
    worse["metrics"]["ws.latency"]["p99"] = 80.0
    worse["thresholds"][0]["ok"] = False
    worse["passed"] = False
    for name, data in (("a.json", base), ("b.json", worse)):
        (tmp_path / name).write_text(json.dumps(data))
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "compare", str(tmp_path / "a.json"),
         str(tmp_path / "b.json")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "ws.latency.p99" in done.stdout and "+700.0%" in done.stdout
    assert "threshold ws.latency.p99 < 50ms: ok -> FAIL" in done.stdout


def test_compare_refuses_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "compare", str(tmp_path / "x.json"),
         str(tmp_path / "x.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "not a pitchey-loadtest/1 results file" in done.stderr
