"""Sliding-window rate limits in Redis, checked atomically by one Lua script.

Each rule is a sorted set of request timestamps (ms). One call checks every rule of a
request together: expired entries are trimmed, and only if *every* rule has room is the
request recorded in all of them; a refused request consumes nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from ._service import Storage

# KEYS: one sorted set per rule. ARGV: now_ms, member, then (limit, window_ms) per rule.
# Returns, per rule: {allowed (1/0), remaining, ms until the oldest entry leaves}.
_SCRIPT = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local results = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  local reset = window
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
  if count >= limit then allowed = 0 end
  results[i] = {count, limit, reset}
end
local out = {}
for i, key in ipairs(KEYS) do
  local count, limit, reset = results[i][1], results[i][2], results[i][3]
  if allowed == 1 then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
    count = count + 1
  end
  out[i] = {allowed, limit - count, reset}
end
return out
"""


@dataclass(frozen=True, slots=True)
class RateRule:
    key: str  # what is limited, e.g. "ip:1.2.3.4:auth" (the prefix is added)
    limit: int
    window_s: float


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: float  # seconds until the tightest rule has room again
    retry_after_s: int  # whole seconds to wait when refused (0 when allowed)


async def hit_rate_limits(
    storage: Storage, rules: list[RateRule], *, now_ms: int | None = None
) -> RateDecision:
    """Record one request against every rule, or none if any rule is full; the decision
    for the tightest rule (fewest remaining)."""
    if not rules:
        raise ValueError("no rules")
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    keys = [storage.key("ratelimit", rule.key) for rule in rules]
    args: list[Any] = [now, f"{now}-{secrets.token_hex(6)}"]
    for rule in rules:
        args += [rule.limit, int(rule.window_s * 1000)]
    results = await storage.redis(lambda client: client.eval(_SCRIPT, len(keys), *keys, *args))
    decisions = []
    for rule, (allowed, remaining, reset_ms) in zip(rules, results, strict=True):
        remaining = max(0, int(remaining))
        reset = max(0.0, int(reset_ms) / 1000)
        wait = 0 if allowed else max(1, int(-(-int(reset_ms) // 1000)))
        decisions.append(RateDecision(bool(allowed), rule.limit, remaining, reset, wait))
    refused = [d for d in decisions if not d.allowed and d.remaining == 0]
    if refused:
        return max(refused, key=lambda d: d.retry_after_s)
    return min(decisions, key=lambda d: (d.remaining, -d.reset_s))
