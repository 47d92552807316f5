"""Real-browser tests: headless Chromium (Debian's ``chromium``) driven by Playwright's sync
API, against a ``pitchey serve --demo`` subprocess on a database of its own (this run's
PostgreSQL server and Redis, a key prefix under this run's).

Without Chromium the tests skip, naming the install command. Screenshots of key steps go
to ``test-artifacts/browser/`` (gitignored); the path is printed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trio

from storage import create_database, drop_database

from support import JWT_SECRET, Servers, free_port

CHROMIUM = os.environ.get("PITCHEY_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "apt-get install -y chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DEMO_PASSWORD = "Demo123"
CREATOR = "alex.creator@demo.com"
INVESTOR = "sarah.investor@demo.com"
PRODUCTION = "stellar.production@demo.com"
TIMEOUT_MS = 15_000

try:
    from playwright import sync_api
except ImportError:  # the test extras install it
    sync_api = None  # type: ignore[assignment]


@dataclass
class ServedNode:
    """A ``pitchey serve`` process; ``restart`` kills it hard and starts it again."""

    env: dict[str, str]
    proc: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: ARTIFACTS / "node.log")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def start(self, *args: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "realtime", "serve", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"node exited during start-up; see {self.log}"
            try:
                if httpx.get(self.base + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError("node did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


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


class Pages:
    """Browser contexts (one per user) for a test, closed at its end."""

    def __init__(self, browser: sync_api.Browser, served: ServedNode, test: str) -> None:
        self.browser = browser
        self.served = served
        self.test = test
        self.contexts: list[sync_api.BrowserContext] = []
        self.errors: list[str] = []

    def open(self, width: int = 1280, height: int = 860) -> sync_api.Page:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(self.served.base + "/")
        return page

    def signed_in(self, email: str, *, width: int = 1280, height: int = 860) -> sync_api.Page:
        """A page signed in through the login form with a demo account, showing the list."""
        page = self.open(width, height)
        page.get_by_role("button", name=email).click()
        page.get_by_role("button", name="Sign in").click()
        page.locator(".cards li").first.wait_for()
        page.wait_for_function("window.pitchey.client && window.pitchey.client.state === 'open'")
        return page

    def shot(self, page: sync_api.Page, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test}-{step}.png"
        page.screenshot(path=str(path), full_page=False)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


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


def open_pitch(page: sync_api.Page, title: str) -> None:
    page.goto(page.url.split("#")[0] + "#/")
    page.get_by_role("link", name=title).click()
    page.locator("#pitch-title").wait_for()
