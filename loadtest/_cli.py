"""The ``pitchey-loadtest`` command: ``run``, ``compare`` and ``list``.

Exit status: 0 thresholds met, 1 a threshold failed, 2 bad scenario or arguments,
3 the run could not start (target unreachable, set-up refused), 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

from ._compare import compare
from ._errors import LoadtestError, ResultsError, ScenarioError, SetupError
from ._html_report import render_html
from ._progress import Progress
from ._results import build_results, load_results, write_results
from ._roster import build_roster
from ._runner import Runner
from ._scenario import Scenario, load_scenario, parse_scenario, shipped_scenarios
from ._summary import format_summary
from ._units import parse_duration

EXIT_OK = 0
EXIT_THRESHOLDS = 1
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitchey-loadtest", description="Load tests for a Pitchey deployment."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run a scenario (a shipped name or a .toml file)")
    run.add_argument("scenario", help=f"shipped: {', '.join(shipped_scenarios())}; or a path")
    run.add_argument("--out", default=None, help="folder for results.json and report.html")
    run.add_argument("--workers", type=int, help="worker processes (overrides run.workers)")
    run.add_argument(
        "--target",
        action="append",
        metavar="HTTP_URL,WS_URL",
        help="replace the scenario's targets (repeat for several nodes)",
    )
    run.add_argument(
        "--prepare",
        action="store_true",
        help="create the accounts straight in PostgreSQL first (needs --database-url and "
        "--redis-url or DATABASE_URL and REDIS_URL), then log them in over HTTP",
    )
    run.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    run.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    run.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="a node process on this machine to measure (CPU, memory); repeatable",
    )
    run.add_argument(
        "--scale-time",
        type=float,
        metavar="FACTOR",
        help="multiply every stage and storm time and run.max_duration (e.g. 0.25 for a "
        "quick look at a long scenario)",
    )
    run.add_argument(
        "--scale-users",
        type=float,
        metavar="FACTOR",
        help="multiply every role's user count and every stage's users (e.g. 0.25)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress output")
    cmp = commands.add_parser("compare", help="compare two results.json files")
    cmp.add_argument("a")
    cmp.add_argument("b")
    commands.add_parser("list", help="list the shipped scenarios")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name in shipped_scenarios():
                sc = load_scenario(name)
                print(f"{name:<16} {sc.description}")
            return EXIT_OK
        if args.command == "compare":
            print(compare(load_results(args.a), load_results(args.b)))
            return EXIT_OK
        return _run(args)
    except (ScenarioError, ResultsError) as exc:
        print(f"pitchey-loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoadtestError as exc:
        print(f"pitchey-loadtest: {exc}", file=sys.stderr)
        return EXIT_SETUP


def apply_overrides(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Command-line overrides go through the same validation as the file."""
    raw: dict[str, Any] = copy.deepcopy(scenario.raw)
    if args.workers is not None:
        raw.setdefault("run", {})["workers"] = args.workers
    if args.target:
        pairs = [t.split(",") for t in args.target]
        if any(len(p) != 2 for p in pairs):
            raise ScenarioError("--target", "give HTTP_URL,WS_URL")
        raw["target"] = {**raw.get("target", {}), "http": [p[0] for p in pairs],
                         "ws": [p[1] for p in pairs]}  # fmt: skip
    if args.scale_time is not None:
        if not 0.01 <= args.scale_time <= 100:
            raise ScenarioError("--scale-time", "must be between 0.01 and 100")
        factor = args.scale_time
        for stage in raw.get("stages", []):
            stage["duration"] = parse_duration(stage["duration"]) * factor
        for storm in raw.get("storms", []):
            storm["at"] = parse_duration(storm["at"]) * factor
        run = raw.setdefault("run", {})
        run["max_duration"] = parse_duration(run.get("max_duration", 0)) * factor
    if args.scale_users is not None:
        if not 0.001 <= args.scale_users <= 100:
            raise ScenarioError("--scale-users", "must be between 0.001 and 100")
        users = raw.get("users", {})
        for role, count in users.items():
            if isinstance(count, int) and count:
                users[role] = max(1, round(count * args.scale_users))
        roster = sum(v for v in users.values() if isinstance(v, int))
        for stage in raw.get("stages", []):
            if isinstance(stage.get("users"), int):
                stage["users"] = min(roster, round(stage["users"] * args.scale_users))
    if (
        args.workers is None
        and not args.target
        and args.scale_time is None
        and args.scale_users is None
    ):
        return scenario
    return parse_scenario_dict(raw, scenario.source)


def parse_scenario_dict(raw: dict[str, Any], source: str) -> Scenario:
    from ._scenario import _Parser

    return _Parser(raw).scenario(source)


def _run(args: argparse.Namespace) -> int:
    scenario = apply_overrides(load_scenario(args.scenario), args)
    out = Path(args.out or f"loadtest-results/{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    progress = Progress(quiet=args.quiet)
    run_tag = None
    if args.prepare:
        if not args.database_url or not args.redis_url:
            raise ScenarioError("--prepare", "needs --database-url and --redis-url")
        from ._prepare import PREPARED_TAG, prepare_accounts

        run_tag = PREPARED_TAG
        users = build_roster(scenario, run_tag)
        progress.note(f"preparing {len(users)} accounts in PostgreSQL")
        created = trio.run(prepare_accounts, args.database_url, args.redis_url, users)
        progress.note(f"{created} accounts created, {len(users) - created} already there")
    runner = Runner(
        scenario,
        login=args.prepare,
        run_tag=run_tag,
        server_pids=args.server_pid,
        log_dir=out,
        progress=progress,
    )
    progress.note(
        f"scenario {scenario.name}: {scenario.peak_users} users peak over "
        f"{scenario.duration:g}s against {', '.join(t.http for t in scenario.targets)}"
    )
    try:
        outcome = trio.run(runner.run)
    except SetupError:
        progress.close()
        raise
    progress.close()
    results = build_results(outcome)
    out.mkdir(parents=True, exist_ok=True)
    write_results(results, out / "results.json")
    (out / "report.html").write_text(render_html(results))
    print(format_summary(results))
    print(f"\nresults: {out / 'results.json'}\nreport:  {out / 'report.html'}")
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if outcome.setup_failed:
        return EXIT_SETUP
    return EXIT_OK if results["passed"] else EXIT_THRESHOLDS


__all__ = ["main", "parse_scenario"]
