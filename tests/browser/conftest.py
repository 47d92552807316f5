"""Real-browser tests: headless Chromium (Debian's ``chromium``) driven by Playwright's sync
API, against a ``pitchey serve --demo`` subprocess on a database of its own (this run's
PostgreSQL server and Redis, a key prefix under this run's).

Without Chromium the tests skip, naming the install command. Screenshots of key steps go
to ``test-artifacts/browser/`` (gitignored); the path of each is printed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
import trio
from browser_support import CHROMIUM, INSTALL_HINT, Pages, ServedNode, sync_api

from storage import create_database, drop_database

from support import JWT_SECRET, Servers, free_port


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if sync_api is None:
        pytest.skip("Playwright is missing; install it with `pip install -e '.[test]'`")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}; install it with `{INSTALL_HINT}`")
    return CHROMIUM


@pytest.fixture(scope="module")
def served(servers: Servers, chromium_path: str) -> Iterator[ServedNode]:
    name = f"pitchey_browser_{os.getpid()}_{secrets.token_hex(3)}"
    database_url = trio.run(create_database, servers.server_url, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=servers.redis_url,
        REDIS_KEY_PREFIX=f"{servers.key_prefix}browser-{secrets.token_hex(3)}:",
        JWT_SECRET=JWT_SECRET,
        PORT=str(free_port()),
        WS_PORT=str(free_port()),
        LOG_FORMAT="json",
        LOG_LEVEL="warning",
        DRAIN_TIMEOUT="5",
    )
    node = ServedNode(env)
    node.start("--demo")
    try:
        yield node
    finally:
        node.stop()
        trio.run(drop_database, servers.server_url, name)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[sync_api.Browser]:
    # Once imported, trio-asyncio (used by the storage fixtures) makes every
    # asyncio.new_event_loop() one of its own loops; Playwright's sync API needs a plain
    # asyncio loop, which it makes once, on entry.
    trio_new_loop = asyncio.new_event_loop
    asyncio.new_event_loop = lambda: asyncio.DefaultEventLoopPolicy().new_event_loop()
    try:
        manager = sync_api.sync_playwright()
        playwright = manager.__enter__()
    finally:
        asyncio.new_event_loop = trio_new_loop
    try:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def pages(
    browser: sync_api.Browser, served: ServedNode, request: pytest.FixtureRequest
) -> Iterator[Pages]:
    opened = Pages(browser, served, request.node.name.removeprefix("test_")[:60])
    try:
        yield opened
    finally:
        opened.close()
    assert opened.errors == [], opened.errors
