"""Rate limits per route family, applied before every API request.

    /api/auth/*           per client IP (and, in login/register, per account)
    NDA routes            per user (per IP when anonymous)
    every other /api/*    per user, else per IP; also /openapi.json and /docs

Allowed requests carry ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (seconds);
refused ones are 429 with ``Retry-After``. Health and readiness probes are never limited,
nor are the demo page and static files (``/``, ``/static/*``: a page load fetches dozens).
While Redis cannot be reached the limits fail open (logged): an outage of the limiter
should not become an outage of the API.
"""

from __future__ import annotations

import math
import re

import structlog
from quart import g, request

from storage import RateDecision, RateRule, StorageError, hit_rate_limits

from ._auth import claimed_user_id, client_ip
from ._context import deps
from ._errors import RateLimited

log = structlog.get_logger("http_api.limits")

_NDA_PATH = re.compile(r"^/api/(ndas(/|$)|pitches/[^/]+/nda$)")
_UNLIMITED = frozenset({"/health", "/ready"})


async def limit_request() -> None:
    """Before-request hook: count this request, or refuse it with 429."""
    limits = deps().rate_limits
    path = request.path
    if not limits.enabled or request.method == "OPTIONS" or path in _UNLIMITED:
        return
    if path == "/" or path.startswith("/static/"):
        return
    user_id = claimed_user_id()
    who = f"user:{user_id}" if user_id is not None else f"ip:{client_ip()}"
    if path.startswith("/api/auth/"):
        rule = RateRule(f"ip:{client_ip()}:auth", *limits.auth)
    elif _NDA_PATH.match(path):
        rule = RateRule(f"{who}:nda", *limits.nda)
    else:
        rule = RateRule(f"{who}:general", *limits.general)
    await _check(rule)


async def limit_account(account: str) -> None:
    """In login and registration: the per-account auth limit (``account``: the email)."""
    limits = deps().rate_limits
    if limits.enabled:
        await _check(RateRule(f"account:{account.strip().lower()}:auth", *limits.auth))


async def _check(rule: RateRule) -> None:
    try:
        decision = await hit_rate_limits(deps().storage, [rule])
    except StorageError as exc:
        log.warning("rate_limit_unavailable", error=str(exc))
        return
    _apply(decision)


def _apply(decision: RateDecision) -> None:
    current: RateDecision | None = g.get("rate_limit")
    if current is None or decision.remaining < current.remaining or not decision.allowed:
        g.rate_limit = decision
    if not decision.allowed:
        raise RateLimited(
            f"Too many requests; try again in {decision.retry_after_s} s.",
            retry_after=decision.retry_after_s,
        )


def rate_limit_headers() -> dict[str, str]:
    decision: RateDecision | None = g.get("rate_limit")
    if decision is None:
        return {}
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_s)),
    }
