"""Rate limiting and login throttling, on a clock the test moves by hand."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from gateway.limits import LoginThrottle, RateLimiter

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


def test_failed_logins_lock_the_account_for_the_window_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(3):
        throttle.check("password:teacher1")
        throttle.failed("password:teacher1")
    with pytest.raises(HTTPException) as refused:
        throttle.check("password:teacher1")
    assert refused.value.status_code == 429
    assert refused.value.headers is not None
    assert int(refused.value.headers["Retry-After"]) == 60
    throttle.check("password:officer1")  # other accounts are unaffected
    clock.now += 61
    throttle.check("password:teacher1")


def test_a_success_clears_the_failures() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=Clock())
    throttle.failed("k")
    throttle.succeeded("k")
    throttle.failed("k")
    throttle.check("k")  # one failure since the success: still allowed
