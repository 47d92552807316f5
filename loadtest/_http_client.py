"""HTTP calls to the target's API, timed per route, from the user's source address.

Every URL is built from a scenario target and checked against the scenario's targets
before it is used, so a run can only ever reach the addresses the scenario names.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from ._errors import TargetError
from ._metrics import Recorder


@dataclass(frozen=True, slots=True)
class Reply:
    status: int  # 0 when no response arrived
    data: Any  # the envelope's ``data`` (or ``error``) when the body was JSON
    error: str | None  # the error kind recorded, None when the call succeeded

    @property
    def ok(self) -> bool:
        return self.error is None


class Api:
    """One HTTP client per (target, source address), shared by a worker's users."""

    def __init__(self, allowed: Collection[str], recorder: Recorder, timeout: float) -> None:
        self._allowed = tuple(allowed)
        self._recorder = recorder
        self._timeout = timeout
        self._clients: dict[tuple[str, str | None], httpx.AsyncClient] = {}

    def _client(self, base: str, source: str | None) -> httpx.AsyncClient:
        key = (base, source)
        client = self._clients.get(key)
        if client is None:
            transport = httpx.AsyncHTTPTransport(
                local_address=source,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            )
            client = httpx.AsyncClient(
                base_url=base, transport=transport, timeout=self._timeout, trust_env=False
            )
            self._clients[key] = client
        return client

    def check(self, url: str) -> None:
        if not any(url == a or url.startswith(a.rstrip("/") + "/") for a in self._allowed):
            raise TargetError(f"{url} is not one of the scenario's targets")

    async def call(
        self,
        route: str,
        method: str,
        base: str,
        path: str,
        *,
        source: str | None = None,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        accept: Collection[int] = (),
        intended: float | None = None,
    ) -> Reply:
        """Send one request; statuses below 400 and those in ``accept`` count as success.
        Records the latency under ``http.<route>`` and any failure as an error kind. The
        latency runs from ``intended`` (a ``time.perf_counter()`` value: when the user
        meant to send it) when given, so a late start counts against the server too."""
        url = base + path
        self.check(url)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        started = time.perf_counter() if intended is None else min(intended, time.perf_counter())
        try:
            response = await self._client(base, source).request(
                method, path, headers=headers, json=json, params=params
            )
        except httpx.TimeoutException:
            return self._done(route, started, 0, None, "timeout")
        except httpx.HTTPError as exc:
            return self._done(route, started, 0, None, type(exc).__name__.lower())
        try:
            body = response.json()
        except ValueError:
            body = None
        data = body.get("data", body.get("error")) if isinstance(body, dict) else None
        ok = response.status_code < 400 or response.status_code in accept
        return self._done(
            route, started, response.status_code, data, None if ok else str(response.status_code)
        )

    def _done(self, route: str, started: float, status: int, data: Any, error: str | None) -> Reply:
        self._recorder.http(route, (time.perf_counter() - started) * 1000.0, error)
        return Reply(status, data, error)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
