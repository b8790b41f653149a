"""An idle consumer's pulls expire every FETCH_TIMEOUT_S; it asks the server whether messages
wait unseen (a stale subscription) only now and then, and at once after a reconnect."""

from __future__ import annotations

from shared.consumer import STALL_CHECK_EVERY, StallCheck


def _asked(check: StallCheck, expiries: int) -> list[int]:
    return [n for n in range(1, expiries + 1) if check.expired()]


def test_an_idle_consumer_asks_every_nth_expired_pull() -> None:
    assert _asked(StallCheck(every=5), 17) == [5, 10, 15]
    assert STALL_CHECK_EVERY > 1  # asking after every expiry was what cost


def test_messages_start_the_count_again() -> None:
    check = StallCheck(every=5)
    assert _asked(check, 4) == []
    check.got_messages()
    assert _asked(check, 4) == []
    assert check.expired()


def test_the_first_expired_pull_after_a_reconnect_asks() -> None:
    check = StallCheck(every=5)
    assert _asked(check, 2) == []
    check.reconnected()
    assert _asked(check, 6) == [1, 6]
