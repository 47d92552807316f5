"""The sliding-window rate limit script, against real Redis, with explicit clocks."""

from __future__ import annotations

import secrets

from storage import RateRule, Storage, hit_rate_limits


def _rule(limit: int = 3, window: float = 10.0) -> RateRule:
    return RateRule(f"test:{secrets.token_hex(4)}", limit, window)


async def test_requests_within_the_limit_are_allowed(storage: Storage) -> None:
    rule = _rule()
    decisions = [await hit_rate_limits(storage, [rule], now_ms=1_000 + i) for i in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]


async def test_the_next_one_is_refused_until_the_oldest_leaves(storage: Storage) -> None:
    rule = _rule()
    for i in range(3):
        await hit_rate_limits(storage, [rule], now_ms=1_000 + i * 1000)
    refused = await hit_rate_limits(storage, [rule], now_ms=4_000)
    assert not refused.allowed and refused.retry_after_s == 7
    later = await hit_rate_limits(storage, [rule], now_ms=11_001)
    assert later.allowed


async def test_a_refused_request_consumes_nothing(storage: Storage) -> None:
    rule = _rule(limit=1)
    await hit_rate_limits(storage, [rule], now_ms=0)
    for t in (1, 2, 3):
        assert not (await hit_rate_limits(storage, [rule], now_ms=t)).allowed
    assert (await hit_rate_limits(storage, [rule], now_ms=10_001)).allowed


async def test_every_rule_must_have_room(storage: Storage) -> None:
    roomy, tight = _rule(limit=10), _rule(limit=1)
    await hit_rate_limits(storage, [tight], now_ms=0)
    decision = await hit_rate_limits(storage, [roomy, tight], now_ms=1)
    assert not decision.allowed and decision.limit == 1
    again = await hit_rate_limits(storage, [roomy], now_ms=2)
    assert again.remaining == 9  # the refused request was not recorded against roomy
