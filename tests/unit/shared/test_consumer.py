"""An idle consumer's pulls expire every FETCH_TIMEOUT_S; it asks the server whether messages
wait unseen (a stale subscription) only now and then, and after each expiry for a while after
a reconnect or a failed fetch."""

from __future__ import annotations

from shared.consumer import FETCH_TIMEOUT_S, STALL_CHECK_EVERY, STALL_CHECKS_AFTER_FAULT, StallCheck


def _asked(check: StallCheck, expiries: int) -> list[int]:
    return [n for n in range(1, expiries + 1) if check.expired()]


def test_an_idle_consumer_asks_every_nth_expired_pull() -> None:
    assert _asked(StallCheck(every=5, after_fault=2), 17) == [5, 10, 15]
    assert STALL_CHECK_EVERY > 1  # asking after every expiry was what cost


def test_messages_start_the_count_again() -> None:
    check = StallCheck(every=5, after_fault=2)
    assert _asked(check, 4) == []
    check.got_messages()
    assert _asked(check, 4) == []
    assert check.expired()


def test_after_a_fault_each_of_the_next_expired_pulls_asks() -> None:
    check = StallCheck(every=5, after_fault=3)
    assert _asked(check, 2) == []
    check.fault()  # a reconnect, or a fetch that failed
    assert _asked(check, 8) == [1, 2, 3, 8]  # then the count goes on: the 10th expiry overall
    assert STALL_CHECKS_AFTER_FAULT * FETCH_TIMEOUT_S >= 10  # as long as a leader election
