"""Rate limiting and login throttling, on a clock the test moves by hand."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import HTTPException

from gateway.limits import Bounded, LoginThrottle, RateLimiter

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_is_allowed_then_429_with_retry_after_until_tokens_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        await limiter.check("teacher1")
    with pytest.raises(HTTPException) as refused:
        await limiter.check("teacher1")
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "1"}
    await limiter.check("officer1")  # another client has its own bucket
    clock.now += 0.5  # one token back at 2 per second
    await limiter.check("teacher1")
    with pytest.raises(HTTPException):
        await limiter.check("teacher1")


async def guess(throttle: LoginThrottle, ok: bool = False, **who: str) -> int:
    """One login attempt with a wrong (or right) password: its status, 429 if refused."""
    try:
        async with throttle.attempt(account=who["account"], source=who["source"]) as attempt:
            await asyncio.sleep(0)  # the password check: others may run meanwhile
            attempt.ok = ok
    except HTTPException as refused:
        return refused.status_code
    return 200 if ok else 401


async def retry_after(throttle: LoginThrottle, **who: str) -> int:
    with pytest.raises(HTTPException) as refused:
        async with throttle.attempt(account=who["account"], source=who["source"]):
            pass
    assert refused.value.status_code == 429
    assert refused.value.headers is not None
    return int(refused.value.headers["Retry-After"])


async def test_failures_from_one_address_bring_growing_delays_for_that_address_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_failures=3, base_delay_s=1, max_delay_s=8, clock=clock)
    attacker: dict[str, Any] = {"account": "password:teacher1", "source": "10.6.6.6"}
    assert [await guess(throttle, **attacker) for _ in range(3)] == [401] * 3  # free
    waits = []
    for _ in range(6):
        waits.append(await retry_after(throttle, **attacker))
        clock.now += waits[-1]
        assert await guess(throttle, **attacker) == 401
    assert waits == [1, 2, 4, 8, 8, 8]  # doubling, capped
    # The owner, from her own address, is not held up by the attacker's failures.
    owner: dict[str, Any] = {"account": "password:teacher1", "source": "10.0.0.1"}
    assert await guess(throttle, ok=True, **owner) == 200
    assert await guess(throttle, account="password:officer1", source="10.6.6.6") == 401


async def test_concurrent_guesses_take_turns_so_only_the_free_ones_are_checked() -> None:
    throttle = LoginThrottle(free_failures=3, clock=Clock())
    who: dict[str, Any] = {"account": "a", "source": "s"}
    burst = await asyncio.gather(*(guess(throttle, **who) for _ in range(10)))
    assert sorted(burst) == [401] * 3 + [429] * 7


async def test_concurrent_right_passwords_all_get_in() -> None:
    """Several tabs logging in at once are not mistaken for an attack."""
    throttle = LoginThrottle(free_failures=1, source_max_failures=3, clock=Clock())
    who: dict[str, Any] = {"account": "a", "source": "s"}
    assert await asyncio.gather(*(guess(throttle, ok=True, **who) for _ in range(3))) == [200] * 3


async def test_a_success_clears_only_its_own_address_and_idle_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_failures=2, window_s=60, clock=clock)
    s1: dict[str, Any] = {"account": "a", "source": "s1"}
    s2: dict[str, Any] = {"account": "a", "source": "s2"}
    assert [await guess(throttle, **s2) for _ in range(2)] == [401, 401]
    assert await guess(throttle, **s1) == 401
    assert await guess(throttle, ok=True, **s1) == 200
    assert [await guess(throttle, **s1) for _ in range(2)] == [401, 401]  # afresh: two free
    await retry_after(throttle, **s2)  # s2 was not cleared
    clock.now += 61
    assert await guess(throttle, **s2) == 401


async def test_password_spraying_from_one_address_is_limited_across_accounts() -> None:
    clock = Clock()
    throttle = LoginThrottle(source_max_failures=5, window_s=300, clock=clock)
    for n in range(5):
        assert await guess(throttle, account=f"password:user{n}", source="10.6.6.6") == 401
    assert await retry_after(throttle, account="password:fresh", source="10.6.6.6") == 300
    assert await guess(throttle, account="password:fresh", source="10.0.0.1") == 401
    clock.now += 301
    assert await guess(throttle, account="password:fresh", source="10.6.6.6") == 401


async def test_concurrent_spraying_counts_the_attempts_in_progress() -> None:
    throttle = LoginThrottle(source_max_failures=5, clock=Clock())
    burst = [guess(throttle, account=f"user{n}", source="10.6.6.6") for n in range(12)]
    assert sorted(await asyncio.gather(*burst)) == [401] * 5 + [429] * 7


async def test_successful_logins_do_not_use_up_an_address() -> None:
    """Many people behind one school's address log in all day without being stopped."""
    throttle = LoginThrottle(source_max_failures=3, clock=Clock())
    for n in range(20):
        assert await guess(throttle, ok=True, account=f"teacher{n}", source="school-nat") == 200


async def test_tables_stay_bounded_whatever_is_tried() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_keys=100, clock=clock)
    limiter = RateLimiter(rate=1.0, burst=1, max_keys=100, clock=clock)
    for n in range(5000):
        await guess(throttle, account=f"password:u{n}", source=f"10.{n // 256 % 256}.{n % 256}.1")
        await limiter.check(f"client{n}")
    assert len(throttle._pairs) == 100
    assert len(throttle._sources) == 100
    assert len(throttle._turns) == 100
    assert throttle._in_progress == {}
    assert len(limiter._buckets) == 100


def test_bounded_map_forgets_the_least_recently_used() -> None:
    table = Bounded(2)
    table.touch("a", 1)
    table.touch("b", 2)
    table.touch("a", 3)  # used again: now the newest
    table.touch("c", 4)
    assert dict(table) == {"a": 3, "c": 4}
