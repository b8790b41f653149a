"""Stopping a background task (shared/tasks.py): a cancel that Python 3.11's `wait_for` lost
is sent again, a clean-up under way is not cut short, and the task's error comes back."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from shared.tasks import stop


async def test_a_loop_whose_cancel_wait_for_lost_is_stopped_all_the_same() -> None:
    """What nats-py does in every request: the reply lands in the step the cancel comes."""
    woken = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            woken.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=60)  # noqa: TID251 (the bug itself)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # one step: it waits now
    woken.set()
    task.cancel()  # lost: wait_for returns the event's result instead
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert rounds == 1  # the bug, as it is on this Python
    assert not task.done()
    async with asyncio.timeout(5):
        await stop(task, recancel_s=0.05)
    assert task.cancelled()


async def test_a_clean_up_under_way_is_not_cut_short() -> None:
    release = asyncio.Event()
    cleaned = False

    async def loop() -> None:
        nonlocal cleaned
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # a last checkpoint, a give-back of unacked messages
            cleaned = True

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(stop(task, recancel_s=60))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not stopping.done()
    assert not cleaned
    release.set()
    await stopping
    assert cleaned
    assert task.cancelled()


async def test_what_the_task_failed_with_is_raised_and_a_finished_one_is_left_alone() -> None:
    async def fails() -> None:
        raise ValueError("broken")

    failed = asyncio.create_task(fails())
    await asyncio.wait([failed])
    with pytest.raises(ValueError, match="broken"):
        await stop(failed)

    async def returns() -> None:
        return None

    finished = asyncio.create_task(returns())
    await finished
    await stop(finished)
    assert not finished.cancelled()
