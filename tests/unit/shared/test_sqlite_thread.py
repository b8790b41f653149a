"""The SQLite handle's own thread: results, errors and abandoned jobs come back as an
executor's would."""

from __future__ import annotations

import asyncio
import threading
from functools import partial

import pytest

from shared.store.sqlite_handle import JobThread


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
