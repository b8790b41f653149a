"""Rate limiting and login throttling, on a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Callable

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


def retry_after(call: Callable[[], None]) -> int:
    with pytest.raises(HTTPException) as refused:
        call()
    assert refused.value.status_code == 429 and refused.value.headers is not None
    return int(refused.value.headers["Retry-After"])


def test_failures_from_one_address_bring_growing_delays_for_that_address_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_failures=3, base_delay_s=1, max_delay_s=8, clock=clock)
    attacker = {"account": "password:teacher1", "source": "10.6.6.6"}
    for _ in range(3):  # free
        throttle.attempt(**attacker)
    waits = []
    for _ in range(6):
        waits.append(retry_after(lambda: throttle.attempt(**attacker)))
        clock.now += waits[-1]
        throttle.attempt(**attacker)
    assert waits == [1, 2, 4, 8, 8, 8]  # doubling, capped
    # The owner, from her own address, is not held up by the attacker's failures.
    throttle.attempt(account="password:teacher1", source="10.0.0.1")
    throttle.attempt(account="password:officer1", source="10.6.6.6")


def test_concurrent_attempts_count_before_any_of_them_has_failed() -> None:
    """A burst of simultaneous guesses: only the free ones get through."""
    throttle = LoginThrottle(free_failures=3, clock=Clock())
    outcomes = []
    for _ in range(10):  # all started, none finished yet
        try:
            throttle.attempt(account="a", source="s")
            outcomes.append("checked")
        except HTTPException:
            outcomes.append("429")
    assert outcomes == ["checked"] * 3 + ["429"] * 7


def test_a_success_clears_only_its_own_address_and_idle_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_failures=1, window_s=60, clock=clock)
    throttle.attempt(account="a", source="s1")
    throttle.attempt(account="a", source="s2")
    throttle.succeeded(account="a", source="s1")
    throttle.attempt(account="a", source="s1")
    retry_after(lambda: throttle.attempt(account="a", source="s2"))
    clock.now += 61
    throttle.attempt(account="a", source="s2")


def test_password_spraying_from_one_address_is_limited_across_accounts() -> None:
    clock = Clock()
    throttle = LoginThrottle(source_max_failures=5, window_s=300, clock=clock)
    for n in range(5):
        throttle.attempt(account=f"password:user{n}", source="10.6.6.6")
    wait = retry_after(lambda: throttle.attempt(account="password:fresh", source="10.6.6.6"))
    assert wait == 300
    throttle.attempt(account="password:fresh", source="10.0.0.1")  # other addresses unaffected
    clock.now += 301
    throttle.attempt(account="password:fresh", source="10.6.6.6")


def test_successful_logins_do_not_use_up_an_address() -> None:
    """Many people behind one school's address log in all day without being stopped."""
    throttle = LoginThrottle(source_max_failures=3, clock=Clock())
    for n in range(20):
        throttle.attempt(account=f"password:teacher{n}", source="school-nat")
        throttle.succeeded(account=f"password:teacher{n}", source="school-nat")


async def test_tables_stay_bounded_whatever_is_tried() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_keys=100, clock=clock)
    limiter = RateLimiter(rate=1.0, burst=1, max_keys=100, clock=clock)
    for n in range(5000):
        throttle.attempt(account=f"password:u{n}", source=f"10.{n // 256 % 256}.{n % 256}.1")
        await limiter.check(f"client{n}")
    assert len(throttle._pairs) == 100 and len(throttle._sources) == 100
    assert len(limiter._buckets) == 100


def test_bounded_map_forgets_the_least_recently_used() -> None:
    table = Bounded(2)
    table.touch("a", 1)
    table.touch("b", 2)
    table.touch("a", 3)  # used again: now the newest
    table.touch("c", 4)
    assert dict(table) == {"a": 3, "c": 4}
