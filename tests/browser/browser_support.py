"""Helpers of the browser tests: the served node, the per-test pages, demo accounts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

try:
    from playwright import sync_api
except ImportError:  # the test extras install it
    sync_api = None  # type: ignore[assignment]

CHROMIUM = os.environ.get("PITCHEY_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "apt-get install -y chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CREATOR = "alex.creator@demo.com"
INVESTOR = "sarah.investor@demo.com"
TIMEOUT_MS = 15_000


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
        page.wait_for_function("() => window.pitchey.client?.state === 'open'")
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


def open_pitch(page: sync_api.Page, title: str) -> None:
    page.goto(page.url.split("#")[0] + "#/")
    page.get_by_role("link", name=title).click()
    page.locator("#pitch-title").wait_for()
