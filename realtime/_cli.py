"""The ``pitchey`` command: ``serve``, ``migrate``, ``seed-demo``.

A configuration problem prints one line naming the variable and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

import structlog
import trio

from http_api import seed_demo
from storage import Storage, StorageError, apply_migrations

from ._logging import configure_logging
from ._node import Node, run_until_signalled
from ._node_storage import open_configured_storage
from ._settings import ConfigError, Settings, ensure_jwt_secret, load_settings

log = structlog.get_logger("realtime.cli")

EXIT_CONFIG = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitchey", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run a node (HTTP and WebSocket)")
    serve.add_argument("--host", help="interface to listen on (HOST)")
    serve.add_argument("--port", help="HTTP port (PORT, default 8001)")
    serve.add_argument("--ws-port", help="WebSocket port (WS_PORT, default 8002)")
    serve.add_argument("--demo", action="store_true", help="create the demo data on start")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    commands.add_parser("seed-demo", help="create the demo accounts and pitches (idempotent)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pitchey`` console script."""
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    for flag, variable in (("host", "HOST"), ("port", "PORT"), ("ws_port", "WS_PORT")):
        value = getattr(args, flag, None)
        if value is not None:
            env[variable] = value
    try:
        settings = load_settings(env, stdout_is_tty=sys.stdout.isatty())
        if args.command == "serve":
            settings = ensure_jwt_secret(settings)
    except ConfigError as exc:
        print(f"pitchey: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(level=settings.log_level, fmt=settings.log_format, node_id=settings.node_id)
    try:
        if args.command == "serve":
            trio.run(run_until_signalled, Node(settings, demo=args.demo))
        elif args.command == "migrate":
            trio.run(_with_storage, settings, _migrate)
        else:
            trio.run(_with_storage, settings, _seed)
    except StorageError as exc:
        log.error("command_failed", command=args.command, error=str(exc))
        print(f"pitchey: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


async def _migrate(storage: Storage) -> None:
    applied = await apply_migrations(storage)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))


async def _seed(storage: Storage) -> None:
    await apply_migrations(storage)
    result = await seed_demo(storage)
    print(f"demo data: {result.users_created} user(s), {result.pitches_created} pitch(es) created")


async def _with_storage(settings: Settings, work: Callable[[Storage], Awaitable[None]]) -> None:
    async with open_configured_storage(settings, pool_size=2) as storage:
        await work(storage)
