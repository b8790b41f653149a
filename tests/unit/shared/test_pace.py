"""The intake gathers only while busy: the rate it counts, and the window it picks."""

from __future__ import annotations

from shared.pace import SPAN_S, Pace, gather_window_s
from shared.streams import CASE_TRACKING_SCHOOL, NOTIFICATIONS_CASES, ConsumerSpec


def test_the_rate_is_what_was_taken_over_the_last_span() -> None:
    pace = Pace()
    assert pace.per_s(now=100.0) == 0
    pace.took(3, now=100.0)
    pace.took(5, now=100.0 + SPAN_S / 2)
    assert pace.per_s(now=100.0 + SPAN_S * 0.9) == 8 / SPAN_S
    assert pace.per_s(now=100.0 + SPAN_S * 1.1) == 5 / SPAN_S  # the first batch is too old
    assert pace.per_s(now=100.0 + SPAN_S * 1.6) == 0


def _steady(pace: Pace, *, per_s: float, start: float, seconds: float) -> float:
    """Events one at a time at `per_s`; the time just after the last."""
    n = int(per_s * seconds)
    for i in range(n):
        pace.took(1, now=start + i / per_s)
    return start + n / per_s


def test_the_intake_waits_for_nothing_at_a_stations_rate_and_gathers_above_its_threshold() -> None:
    spec, pace = CASE_TRACKING_SCHOOL, Pace()
    assert spec.gather_s == 0  # someone waits on a report becoming tasks
    now = _steady(pace, per_s=50, start=0, seconds=2)  # the 201 → tasks target's rate
    assert gather_window_s(spec, pace, now=now) == 0
    now = _steady(pace, per_s=200, start=now, seconds=2)
    assert gather_window_s(spec, pace, now=now) == spec.gather_busy_s > 0
    # The burst is over: within a span, the next report is taken the moment it comes.
    now = _steady(pace, per_s=20, start=now + SPAN_S, seconds=1)
    assert gather_window_s(spec, pace, now=now) == 0


def test_work_nobody_waits_on_keeps_its_window_whatever_the_rate() -> None:
    assert gather_window_s(NOTIFICATIONS_CASES, Pace(), now=0.0) == NOTIFICATIONS_CASES.gather_s
    plain = ConsumerSpec("CASES", "plain", "case.>")
    busy = Pace()
    busy.took(10_000, now=0.0)
    assert gather_window_s(plain, busy, now=SPAN_S / 2) == 0
