"""The SQLite handle's own thread: results, errors and abandoned jobs come back as an
executor's would; and the rule that sends a commit there (`CommitPace`)."""

from __future__ import annotations

import asyncio
import threading
from functools import partial

import pytest

from shared.store.sqlite_handle import CommitPace, JobThread


async def test_a_job_runs_on_the_thread_and_its_result_or_error_comes_back() -> None:
    worker = JobThread("test")
    try:
        assert await worker.submit(threading.current_thread) is not threading.current_thread()
        assert await worker.submit(lambda: 42) == 42
        with pytest.raises(ZeroDivisionError):
            await worker.submit(lambda: 1 / 0)
    finally:
        worker.shutdown()


async def test_a_job_nobody_awaits_any_more_does_not_stop_the_next() -> None:
    worker = JobThread("test")
    release = threading.Event()
    try:
        abandoned = worker.submit(release.wait)
        abandoned.cancel()
        release.set()
        assert await worker.submit(lambda: "after") == "after"  # in order, after the first
        assert abandoned.cancelled()
    finally:
        worker.shutdown()


def test_jobs_run_in_the_order_given() -> None:
    async def run() -> list[int]:
        worker = JobThread("test")
        seen: list[int] = []
        try:
            await asyncio.gather(*(worker.submit(partial(seen.append, n)) for n in range(50)))
        finally:
            worker.shutdown()
        return seen

    assert asyncio.run(run()) == list(range(50))


def test_commits_stay_inline_through_a_few_slow_ones_and_go_to_the_thread_on_a_streak() -> None:
    pace = CommitPace(bound_s=0.002, streak=3, probe_every=4)
    assert pace.inline()
    pace.took(0.010)  # a big transaction, a checkpoint
    pace.took(0.010)
    pace.took(0.0001)  # a fast one in between: not a slow disk
    pace.took(0.010)
    pace.took(0.010)
    assert pace.inline()
    assert not pace.threaded
    pace.took(0.002)  # at the bound counts as slow: the third in a row
    assert pace.threaded


def test_on_the_thread_every_nth_commit_is_inline_and_a_fast_one_brings_them_back() -> None:
    pace = CommitPace(bound_s=0.002, streak=1, probe_every=4)
    pace.took(0.010)
    assert [pace.inline() for _ in range(8)] == [False, False, False, True] * 2
    pace.took(0.008)  # the probe was slow too: the disk is slow
    assert [pace.inline() for _ in range(4)] == [False, False, False, True]
    pace.took(0.0002)  # fast: every commit inline again
    assert all(pace.inline() for _ in range(10))
    assert not pace.threaded
