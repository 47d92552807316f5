"""Room fan-out benchmark (issue 4): the product against a bare trio-websocket floor.

    python benchmarks/room_fanout.py [--members 100,1000] [--runs 3] [--quick]

For each room size and run, each server (the product node and the floor; their order
alternates between runs) is started fresh and measured in three phases:

1. memory: server RSS before any client connects and after every member has connected
   (for the product: authenticated and joined the room) and the server is idle again; the
   growth divided by the members is the memory per idle joined connection.
2. latency: chat at a moderate rate (default 5 msgs/s, round-robin over the publishers) at
   fixed intended times; each delivery's latency runs from the intended send time to the
   moment the member's socket had the frame (one host clock). The server's CPU per delivery
   at this rate is reported too.
3. burst: ``--publishers`` members each send their share of the messages as fast as the
   product's per-connection rate limit allows (15 msgs/s, under its 20/s), with at most
   ``--window`` of their own messages not yet echoed back. The phase ends when every member
   has every message; the server's CPU time over the phase divided by the deliveries is the
   CPU per delivery, the deliveries over the phase's wall time the deliveries per second.

Every member receives every message, the sender included (the product's chat semantics; the
floor echoes too), so deliveries = messages x members. Lost messages, closes, error frames
and warnings in the server's log are reported with each run. Clients are lean epoll loops in
``--workers`` processes (``_client_worker.py``), connected to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from _client_pool import ClientPool, PhaseResult
from _meter import PhaseMeter
from _report import Figures, percentile, profile_summary, table
from _servers import Infra, ServerProcess, infrastructure, start_floor, start_node

from protocol import MSGPACK, Join, encode

CHAT_RATE_PER_PUBLISHER = 15.0  # the node allows 20/s per connection (burst 50)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--members", default=None, help="room sizes (default 100,1000; quick: 100)")
    add("--runs", type=int, default=None, help="runs per size, medians reported (default 3)")
    add("--quick", action="store_true", help="a small smoke run, well under a minute")
    add("--workers", type=int, default=2, help="client processes (default 2)")
    add("--publishers", type=int, default=50, help="publishing members, at most members/2")
    add("--window", type=int, default=2, help="own messages in flight per publisher (burst)")
    add("--burst-deliveries", type=int, default=None, help="deliveries per burst (300k)")
    add("--latency-rate", type=float, default=5.0, help="msgs/s in the latency phase")
    add("--latency-seconds", type=float, default=None, help="length of it (default 25)")
    add("--only", choices=("product", "floor"), help="measure one server only")
    add("--profile", type=Path, metavar="DIR", help="py-spy the product's bursts into DIR")
    add("--node-env", action="append", default=[], type=_assignment, metavar="NAME=VALUE")
    add("--logs", type=Path, default=Path(tempfile.gettempdir()) / "pitchey-bench-logs")
    add("--timeout", type=float, default=None, help="overall limit in seconds")
    args = parser.parse_args(argv)
    quick = args.quick
    args.members = [int(m) for m in (args.members or ("100" if quick else "100,1000")).split(",")]
    args.runs = args.runs or (1 if quick else 3)
    args.burst_deliveries = args.burst_deliveries or (20_000 if quick else 300_000)
    args.latency_seconds = args.latency_seconds or (4.0 if quick else 25.0)
    args.timeout = args.timeout or (240.0 if quick else 7200.0)
    return args


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def measure(
    target: str, infra: Infra, pool: ClientPool, members: int, args: argparse.Namespace, name: str
) -> Figures:
    """Start ``target`` ("product" or "floor") fresh, measure it with ``members`` clients in
    one room, stop it."""
    publishers = max(1, min(args.publishers, members // 2))
    join: Any = None
    if target == "product":
        room = f"pitch:{infra.new_pitch()}"
        server, port = start_node(infra, name, dict(args.node_env))
        paths = [f"/ws?token={token}" for token in infra.tokens(members)]
        join = encode(Join(room=room), MSGPACK)
    else:
        room = "pitch:0"  # the floor has no rooms; the field just travels along
        server, port = start_floor(infra, name)
        paths = ["/ws"] * members
    figures = Figures()
    profiler: subprocess.Popen[bytes] | None = None
    try:
        server.wait_idle()
        rss_before, cpu_before = server.rss(), server.cpu()
        ready, failures = pool.connect(port, paths, join, publishers, timeout=120)
        if ready < members:
            figures.notes.append(f"only {ready}/{members} joined: {failures[:3]}")
        server.wait_idle()
        figures.kib_per_conn = (server.rss() - rss_before) / 1024 / max(ready, 1)
        figures.join_cpu_ms = (server.cpu() - cpu_before) / max(ready, 1) * 1e3
        _latency_phase(figures, server, pool, room, publishers, ready, args)
        server.wait_idle()
        if target == "product" and args.profile is not None:
            profiler = _start_profiler(server, args.profile / f"{name}.txt")
        storage = infra.storage_processes() if target == "product" else []
        _burst_phase(figures, server, pool, storage, room, publishers, ready, args)
    finally:
        log_size = server.log_size()
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        server.stop()
        pool.disconnect()
    warnings, lines = server.warnings(log_size)
    if warnings:
        kept = server.keep_log(args.logs)
        figures.notes.append(f"server log warnings {warnings}, log kept in {kept}")
        figures.notes.extend(f"  {line}" for line in lines)
    return figures


def _latency_phase(
    figures: Figures,
    server: ServerProcess,
    pool: ClientPool,
    room: str,
    publishers: int,
    members: int,
    args: argparse.Namespace,
) -> None:
    count = max(1, round(args.latency_rate * args.latency_seconds))
    cpu_before = server.cpu()
    result = pool.phase(
        args.latency_seconds + 30,
        kind="latency",
        messages=count,
        room=room,
        tag="l",
        publishers=publishers,
        start_ns=time.monotonic_ns() + 500_000_000,
        interval_ns=int(1e9 / args.latency_rate),
    )
    figures.steady_cpu_us = (server.cpu() - cpu_before) / max(result.received, 1) * 1e6
    latencies = sorted(result.latencies_ns)
    figures.p50_ms = percentile(latencies, 50) / 1e6
    figures.p99_ms = percentile(latencies, 99) / 1e6
    figures.max_ms = (latencies[-1] if latencies else math.nan) / 1e6
    figures.first_p50_ms = percentile(result.first_ns, 50) / 1e6
    figures.last_p50_ms = percentile(result.last_ns, 50) / 1e6
    _check(result, count, members, "latency phase", figures.notes)


def _burst_phase(
    figures: Figures,
    server: ServerProcess,
    pool: ClientPool,
    storage: list[Any],
    room: str,
    publishers: int,
    members: int,
    args: argparse.Namespace,
) -> None:
    messages = max(publishers, math.ceil(args.burst_deliveries / max(members, 1)))
    cap = publishers * CHAT_RATE_PER_PUBLISHER
    meter = PhaseMeter(server.proc, pool.pids, storage)
    result = pool.phase(
        messages / cap * 3 + 120,
        kind="burst",
        messages=messages,
        room=room,
        tag="b",
        publishers=publishers,
        rate=CHAT_RATE_PER_PUBLISHER,
        window=args.window,
        batch_sleep=0.002,  # clients read every 2 ms: fewer, larger reads
    )
    meter.stop()
    wall = max((result.last_receive - result.first_send) / 1e9, 1e-9)
    deliveries = max(result.received, 1)
    figures.cpu_us = meter.seconds("server") / deliveries * 1e6
    figures.rate = result.received / wall
    figures.busy = meter.seconds("server") / wall
    figures.client_us = meter.seconds("clients") / deliveries * 1e6
    if storage:
        figures.storage_us_per_msg = meter.seconds("storage") / max(result.sent, 1) * 1e6
    figures.machine = meter.machine(wall)
    if result.sent / wall > 0.9 * cap:
        figures.notes.append(f"burst ran at the publishers' rate cap ({cap:.0f} msgs/s)")
    _check(result, messages, members, "burst phase", figures.notes)


def _check(result: PhaseResult, messages: int, members: int, what: str, notes: list[str]) -> None:
    expected = messages * members
    if result.received != expected or result.missing:
        notes.append(
            f"{what}: {result.received}/{expected} deliveries, {result.missing} missing "
            f"({result.sent}/{messages} sent, {result.connections}/{members} still open)"
        )
    usual = ("member_joined", "member_left", "ack", "ping", "presence")
    unusual = {k: v for k, v in result.counts.items() if not k.startswith(usual)}
    if unusual:
        notes.append(f"{what}: clients saw {unusual}")


def _start_profiler(server: ServerProcess, output: Path) -> subprocess.Popen[bytes]:
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.pid)]
    argv += ["--rate", "250", "--format", "raw", "--nonblocking", "--output", str(output)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # let py-spy attach before the burst starts
    return proc


def _on_alarm(signum: int, frame: Any) -> None:
    raise TimeoutError("the benchmark ran past --timeout")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.monotonic()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(args.timeout))
    targets = [args.only] if args.only else ["product", "floor"]
    results: dict[int, dict[str, list[Figures]]] = {}
    print(
        f"room fan-out: members {args.members}, {args.runs} run(s), {args.workers} client "
        f"workers; burst ~{args.burst_deliveries:,} deliveries from <={args.publishers} "
        f"publishers x {CHAT_RATE_PER_PUBLISHER:.0f} msgs/s (window {args.window}); latency "
        f"{args.latency_rate:g} msgs/s for {args.latency_seconds:g} s",
        flush=True,
    )
    pool = ClientPool(args.workers)
    try:
        with infrastructure(max(args.members)) as infra:
            print(f"infrastructure ready after {time.monotonic() - started:.0f} s", flush=True)
            for members in args.members:
                by_target = results.setdefault(members, {t: [] for t in targets})
                for run in range(args.runs):
                    for target in targets if run % 2 == 0 else targets[::-1]:
                        name = f"{target}-{members}-r{run + 1}"
                        figures = measure(target, infra, pool, members, args, name)
                        by_target[target].append(figures)
                        print(f"  {name:<18} {figures.describe()}", flush=True)
                        raw = args.profile / f"{name}.txt" if args.profile else None
                        if raw is not None and raw.exists():
                            print(profile_summary(raw), flush=True)
    finally:
        signal.alarm(0)
        with contextlib.suppress(Exception):
            pool.close()
    print(f"\nmedian (min-max) of {args.runs} run(s); product/floor compares the medians")
    print(table(results))
    print(f"total time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
