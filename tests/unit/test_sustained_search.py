"""The sustained search of `make bench` (tests/bench/sustained.py): ×1.4 steps, then halving
the last gap, so a ceiling between two steps is not read as the step below it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.bench import sustained


def _search(monkeypatch: pytest.MonkeyPatch, *, ceiling: float, first: float, refine: int) -> Any:
    async def step(_bench: object, *, rate: float, step_s: float, steps: list[Any]) -> bool:
        assert step_s == 1
        steps.append({"rate": rate, "held": rate <= ceiling})
        return rate <= ceiling

    monkeypatch.setattr(sustained, "_step", step)
    return asyncio.run(
        sustained.search(None, first_rate=first, step_s=1, max_steps=14, refine=refine)  # type: ignore[arg-type]
    )


def test_the_halvings_close_in_on_a_ceiling_between_two_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    best, steps = _search(monkeypatch, ceiling=340, first=20, refine=2)
    rates = [round(s["rate"]) for s in steps]
    assert rates[-4:] == [295, 413, 349, 321]  # 349 did not hold; 321 did
    assert round(best) == 321
    best, _ = _search(monkeypatch, ceiling=340, first=20, refine=0)
    assert round(best) == 295  # the step below, as before the halvings


def test_a_first_step_too_fast_steps_down_then_closes_in(monkeypatch: pytest.MonkeyPatch) -> None:
    best, steps = _search(monkeypatch, ceiling=150, first=300, refine=1)
    # 153 did not hold, 109 did: one halving of that gap tries 129, which holds.
    assert [round(s["rate"]) for s in steps] == [300, 214, 153, 109, 129]
    assert round(best) == 129


def _holds(monkeypatch: pytest.MonkeyPatch, *, ceiling: float, rate: float) -> Any:
    async def hold(_bench: object, *, rate: float, sustain_s: float) -> dict[str, Any]:
        assert sustain_s == 60
        kept = rate <= ceiling
        return {"offered_per_s": rate, "kept_up": kept, "drained": True}

    monkeypatch.setattr(sustained, "hold", hold)
    return asyncio.run(sustained.holds(None, rate=rate, sustain_s=60))  # type: ignore[arg-type]


def test_a_minute_that_fell_behind_is_tried_lower_then_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts, chosen = _holds(monkeypatch, ceiling=340, rate=349)
    # 349 fell behind, 291 (÷1.2) kept up, then the middle of the two, 319, which kept up too.
    assert [round(a["offered_per_s"]) for a in attempts] == [349, 291, 319]
    assert round(chosen["offered_per_s"]) == 319
    attempts, chosen = _holds(monkeypatch, ceiling=300, rate=349)
    assert [round(a["offered_per_s"]) for a in attempts] == [349, 291, 319]
    assert round(chosen["offered_per_s"]) == 291  # the middle fell behind: the lower one


def test_a_minute_that_keeps_up_at_once_is_the_row(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts, chosen = _holds(monkeypatch, ceiling=400, rate=349)
    assert [round(a["offered_per_s"]) for a in attempts] == [349]
    assert chosen is attempts[0]
    # None keeps up within HOLDS: the last is reported (falling behind), nothing in between.
    attempts, chosen = _holds(monkeypatch, ceiling=100, rate=349)
    assert [round(a["offered_per_s"]) for a in attempts] == [349, 291, 242]
    assert chosen is attempts[-1]
