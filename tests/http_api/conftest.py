"""An HTTP API served by Hypercorn on port 0, on this run's real PostgreSQL and Redis.

Rate limits are off here (the suite sends far more than 20 logins per 5 minutes from one
IP); ``limited_api`` serves the same app with small limits in a key space of its own.

Every async test in this folder runs under a ``trio.fail_after`` ceiling (a module's
``CEILING`` overrides the default), so a hung request fails the test instead of the run.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from inspect import iscoroutinefunction
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from api_support import ORIGIN, SECRET, Api
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from http_api import AppDeps, RateLimits, create_app
from storage import Storage, open_storage

from support import Servers

CEILING = 60.0
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and _HERE in item.path.parents
            and iscoroutinefunction(item.obj)
        ):
            item.obj = _with_ceiling(item.obj, getattr(item.module, "CEILING", CEILING))


def _with_ceiling(
    test: Callable[..., Awaitable[Any]], seconds: float
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(test)
    async def bounded(*args: Any, **kwargs: Any) -> Any:
        with trio.fail_after(seconds):
            return await test(*args, **kwargs)

    return bounded


async def _serve_api(
    storage: Storage, rate_limits: RateLimits, *, task_status: trio.TaskStatus
) -> None:
    app = create_app(
        AppDeps(
            storage,
            "api-test",
            (ORIGIN,),
            jwt_secret=SECRET,
            ws_port=lambda: 8099,
            rate_limits=rate_limits,
        )
    )
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 1
    await serve(app, config, shutdown_trigger=trio.sleep_forever, task_status=task_status)


async def _open_api(
    servers: Servers, rate_limits: RateLimits, key_prefix: str
) -> AsyncIterator[Api]:
    async with (
        open_storage(
            servers.database_url, servers.redis_url, pool_size=8, key_prefix=key_prefix
        ) as storage,
        trio.open_nursery() as nursery,
    ):
        binds = await nursery.start(partial(_serve_api, storage, rate_limits))
        base = binds[0].replace("0.0.0.0", "127.0.0.1")

        async def forget_cookies(response: httpx.Response) -> None:
            # Tests say which credentials they send; a cookie jar would add the last login's.
            client.cookies.clear()

        hooks = {"response": [forget_cookies]}
        async with httpx.AsyncClient(base_url=base, timeout=30, event_hooks=hooks) as client:
            yield Api(client, storage)
        nursery.cancel_scope.cancel()


@pytest.fixture
async def api(servers: Servers) -> AsyncIterator[Api]:
    async for opened in _open_api(servers, RateLimits(enabled=False), servers.key_prefix):
        yield opened


@pytest.fixture
async def limited_api(servers: Servers) -> AsyncIterator[Api]:
    """Auth 3 per window, NDA 4, everything else 5; its own Redis key space."""
    limits = RateLimits(auth=(3, 300.0), nda=(4, 60.0), general=(5, 60.0))
    prefix = f"{servers.key_prefix}limited-{secrets.token_hex(4)}:"
    async for opened in _open_api(servers, limits, prefix):
        yield opened
