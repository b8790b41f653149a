"""Keeping a batch's messages ours while its handler runs (`shared.delivery.working_on`)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from shared.delivery import working_on
from tests.support import eventually


class _Msg:
    """Records each "in progress" it is told in a log kept apart from it (so the log does not
    keep it alive)."""

    def __init__(self, told: list[int]) -> None:
        self._told = told

    async def in_progress(self) -> None:
        self._told.append(id(self))


async def test_the_server_hears_in_progress_while_the_batch_is_worked_on() -> None:
    told: list[int] = []
    msgs = [_Msg(told), _Msg(told)]
    async with working_on(msgs, every_s=0.01):  # type: ignore[arg-type]

        async def told_twice() -> bool:
            return all(told.count(id(m)) >= 2 for m in msgs)

        await eventually(told_twice)


async def test_a_batch_is_freed_when_its_work_ends_without_the_garbage_collector() -> None:
    """A timer callback that schedules itself again as a closure refers to itself: each
    batch, its messages with it, was left for the collector (docs/performance.md, session 23)."""
    told: list[int] = []
    msgs: list[Any] = [_Msg(told), _Msg(told)]
    freed = [weakref.ref(m) for m in msgs]
    gc.disable()
    try:
        async with working_on(msgs, every_s=0.01):

            async def ticked() -> bool:
                return len(told) >= 2  # a tick came: both messages were told once

            await eventually(ticked)
        del msgs
        assert [f() for f in freed] == [None, None]
    finally:
        gc.enable()
