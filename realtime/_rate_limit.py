"""Per-connection message rate limit: a token bucket, and a cut-off for sustained abuse.

20 messages a second with bursts of 50; a message over the limit is rejected with
``error rate_limited``. ``RATE_LIMIT_CLOSE_THRESHOLD`` rejections within
``RATE_LIMIT_CLOSE_WINDOW_MS`` close the connection (4429). Times are trio's clock.
"""

from __future__ import annotations

import enum
from collections import deque

from protocol import (
    RATE_LIMIT_BURST,
    RATE_LIMIT_CLOSE_THRESHOLD,
    RATE_LIMIT_CLOSE_WINDOW_MS,
    RATE_LIMIT_PER_SECOND,
)


class Verdict(enum.Enum):
    ALLOW = "allow"
    REJECT = "reject"
    CLOSE = "close"


class RateLimiter:
    __slots__ = ("burst", "close_after", "rate", "rejections", "tokens", "updated", "window")

    ALLOW = Verdict.ALLOW
    REJECT = Verdict.REJECT
    CLOSE = Verdict.CLOSE

    def __init__(
        self,
        rate: float = RATE_LIMIT_PER_SECOND,
        burst: int = RATE_LIMIT_BURST,
        close_after: int = RATE_LIMIT_CLOSE_THRESHOLD,
        window: float = RATE_LIMIT_CLOSE_WINDOW_MS / 1000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated: float | None = None
        self.close_after = close_after
        self.window = window
        self.rejections: deque[float] | None = None  # made at the first rejection

    def check(self, now: float) -> Verdict:
        """Take one token at time ``now``; say whether the message may go through."""
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.ALLOW
        if self.rejections is None:
            self.rejections = deque()
        rejections = self.rejections
        rejections.append(now)
        while rejections and rejections[0] <= now - self.window:
            rejections.popleft()
        if len(rejections) >= self.close_after:
            return Verdict.CLOSE
        return Verdict.REJECT
