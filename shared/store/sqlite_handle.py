"""A SQLite connection used inline on the event loop, with a thread for what may block.

Handing a statement to a thread and back costs ~60 µs of CPU (more on a busy machine: the GIL
changes hands twice); running it inline a few µs for a point read or write. So statements run
inline, and only what may block goes to the thread: a statement that finds the file locked by
another handle (inline never sleeps on a lock), a read still running after `BUDGET_S`, and a
commit that wrote (its fsync, under `synchronous=FULL`) on a disk whose fsyncs are slow
(`CommitPace`). Elsewhere that hand-off cost more CPU than the wait (docs/stores.md).
"""

from __future__ import annotations

import asyncio
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar

from shared.store import StoreUnavailableError

R = TypeVar("R")

# The progress handler interrupts an inline read past its budget (a scan, a count over a big
# table); the read, having changed nothing, runs again on the thread. Writes get no budget: an
# interrupted write would roll the whole transaction back.
BUDGET_S = 0.002
# The budget counts the statement's own CPU time: on a busy machine the wall clock also counts
# the time the OS gave other processes, and a read interrupted for that ran twice for nothing.
# A read stalled on the disk (CPU idle) still spills past this many budgets of wall time.
_STALL = 10
# VM instructions between budget checks (~0.1 ms of a scan): the handler runs in every
# statement, writes too, and at 1 000 it was ~5 % of notifications' CPU (inbox inserts walk
# four JSON-expression indexes). A point read runs a few hundred.
_STEPS = 10_000
_SPILL = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_INTERRUPT)
# A commit that wrote runs inline unless this disk's fsyncs are slow: the hand-off to the thread
# cost more CPU than the loop's wait (-17 % CPU per report with commits inline), even where
# a loaded machine stretched inline commits to a few ms (on this VM with every process of the
# platform writing: 0.1-1.3 ms at the median, 3-5 ms at p90, up to 12 ms). Sending those to
# the thread made it worse (more CPU, so slower commits, so more on the thread). A disk whose
# every fsync takes 10 ms or more (a spinning one) gets the thread, so reads and requests go on
# during its fsyncs.
INLINE_COMMIT_S = 0.010
# Slow inline commits in a row that send commits to the thread: one big transaction (a seed, a
# migration), a checkpoint or a moment of a busy machine now and then is not a slow disk.
_PACE_STREAK = 16
# On the thread, every this many commits one runs inline again, timed, to see whether the disk
# is fast after all (a commit on the thread is not timed: it also waits for the GIL there).
_PACE_PROBE_EVERY = 64


class _Spill(Exception):
    """The statement did nothing inline (the file was locked, or a read ran over budget)."""


def _call(fn: Callable[[sqlite3.Connection], R], conn: sqlite3.Connection, *, inline: bool) -> R:
    try:
        return fn(conn)
    except sqlite3.OperationalError as exc:
        if inline and exc.sqlite_errorcode & 0xFF in _SPILL:
            raise _Spill from exc
        if "no such table" in str(exc):
            raise
        raise StoreUnavailableError(f"sqlite: {exc}") from exc


class CommitPace:
    """Where a commit that wrote runs: inline until `streak` inline commits in a row took
    `bound_s` or more, then on the thread, with every `probe_every`-th commit inline again;
    a fast one brings them all back."""

    def __init__(
        self,
        *,
        bound_s: float = INLINE_COMMIT_S,
        streak: int = _PACE_STREAK,
        probe_every: int = _PACE_PROBE_EVERY,
    ) -> None:
        self.bound_s = bound_s
        self.streak = streak
        self.probe_every = probe_every
        self.threaded = False
        self._slow = 0  # inline commits in a row at or over the bound
        self._since_probe = 0

    def inline(self) -> bool:
        if not self.threaded:
            return True
        self._since_probe += 1
        if self._since_probe < self.probe_every:
            return False
        self._since_probe = 0
        return True

    def took(self, seconds: float) -> None:
        """An inline commit's wall time."""
        if seconds < self.bound_s:
            self._slow = 0
            self.threaded = False
            return
        self._slow += 1
        if self._slow >= self.streak:
            self.threaded = True


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def _connect(path: str, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    # Used on the loop and on the handle's thread, one at a time (see Handle).
    conn = sqlite3.connect(
        uri, uri=True, isolation_level=None, timeout=5.0, check_same_thread=False
    )
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed report survives power loss, not just a process crash.
        conn.execute("PRAGMA synchronous = FULL")
        # Deleted rows are overwritten, not just unlinked: erasing a child's key must
        # not leave its bytes in free pages.
        conn.execute("PRAGMA secure_delete = ON")
    return conn


def _settle(job: asyncio.Future[Any], fn: Callable[[], Any]) -> Callable[[], None]:
    """Run `fn` (on the thread); what sets `job` to its outcome (on the loop)."""
    try:
        result = fn()
    except BaseException as exc:  # handed to the awaiting caller, as an executor would
        error = exc
        return lambda: None if job.done() else job.set_exception(error)
    return lambda: None if job.done() else job.set_result(result)


class JobThread:
    """One thread running what the loop hands it, in order. A SimpleQueue there and
    `call_soon_threadsafe` back cost ~40 µs of CPU a round trip; a ThreadPoolExecutor's
    futures, conditions and chained callbacks ~135 µs (measured on this machine, uvloop)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], R]) -> asyncio.Future[R]:
        loop = asyncio.get_running_loop()
        job: asyncio.Future[R] = loop.create_future()
        self._jobs.put((loop, job, fn))
        return job

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            loop, job, fn = item
            settle = _settle(job, fn)
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                loop.call_soon_threadsafe(settle)

    def shutdown(self) -> None:
        self._jobs.put(None)
        self._thread.join()


async def _ended(job: asyncio.Future[Any]) -> None:
    """Wait until `job` has ended, through further cancellations (the caller re-raises one)."""
    while not job.done():
        with suppress(asyncio.CancelledError):
            await asyncio.wait([job])


class Handle:
    """A connection used inline on the event loop, and a thread for what may block.

    The writer's thread uses the same connection, so a hand-off is waited out even when the
    caller is cancelled: the loop never touches the connection while the thread does. The
    reader's thread has a connection of its own, so a long read there holds up no point read.
    """

    def __init__(self, path: str, *, readonly: bool) -> None:
        self._path = path
        self._readonly = readonly
        self._pool = JobThread("sqlite")
        self._conn: sqlite3.Connection | None = None
        self._spill: sqlite3.Connection | None = None  # the thread's
        self._budget: float | None = None
        self._deadline = (math.inf, math.inf)  # (thread CPU time, wall time)
        self.wrote = False  # since the transaction began: only then does its commit fsync
        self.pace = CommitPace()

    async def open(self) -> None:
        # On the thread: switching to WAL may wait for another handle's lock.
        connect = partial(_connect, self._path, readonly=self._readonly)
        try:
            conn = await self._pool.submit(connect)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"sqlite: {exc}") from exc
        conn.execute("PRAGMA busy_timeout = 0")  # inline never sleeps on a lock
        conn.set_progress_handler(self._over_budget, _STEPS)
        self._conn = conn
        self._spill = None if self._readonly else conn

    def _over_budget(self) -> bool:
        if self._budget is None:
            return False  # a write, or a read without a budget: never interrupted
        cpu, wall = self._deadline
        if time.perf_counter() > wall:
            return True
        if cpu == math.inf:  # its first check
            # The CPU clock is a system call (µs on a VM): read first here, after _STEPS, so
            # a point read never pays for it. The budget starts late by those steps.
            self._deadline = (time.thread_time() + self._budget, wall)
            return False
        return time.thread_time() > cpu

    def now(self, fn: Callable[[sqlite3.Connection], R], *, budget: float | None = None) -> R:
        """Run `fn` inline; `_Spill` if it belongs on the thread instead."""
        if self._conn is None:
            raise StoreUnavailableError("sqlite: the store is closed")
        if budget is not None:
            self._budget = budget
            self._deadline = (math.inf, time.perf_counter() + budget * _STALL)
        try:
            return _call(fn, self._conn, inline=True)
        finally:
            self._budget = None
            self._deadline = (math.inf, math.inf)

    async def run(
        self,
        fn: Callable[[sqlite3.Connection], R],
        *,
        budget: float | None = None,
        thread: bool = False,
    ) -> R:
        if not thread:
            with suppress(_Spill):
                return self.now(fn, budget=budget)
        return await self._on_thread(fn)

    async def commit(self) -> None:
        """COMMIT the open transaction: inline when it has nothing to sync or this disk's
        commits are fast (`CommitPace`), else on the thread."""
        if not self.wrote:
            await self.run(_commit)
            return
        if not self.pace.inline():
            await self.run(_commit, thread=True)
            return
        started = time.perf_counter()
        await self.run(_commit)  # the file locked after all: on the thread (and timed so)
        self.pace.took(time.perf_counter() - started)

    async def _on_thread(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        def call() -> R:
            if self._spill is None:
                self._spill = _connect(self._path, readonly=True)
            conn = self._spill
            if conn is not self._conn:
                return _call(fn, conn, inline=False)
            conn.execute("PRAGMA busy_timeout = 5000")  # here waiting for a lock is fine
            try:
                return _call(fn, conn, inline=False)
            finally:
                conn.execute("PRAGMA busy_timeout = 0")

        job = self._pool.submit(call)
        if self._readonly:
            return await job
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            await _ended(job)
            raise

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            _call(lambda c: c.execute("ROLLBACK"), self._conn, inline=False)

    async def close(self) -> None:
        conn, self._conn = self._conn, None

        def shut() -> None:  # after whatever still runs there
            if self._spill is not None and self._spill is not conn:
                self._spill.close()

        await self._pool.submit(shut)
        self._pool.shutdown()
        if conn is not None:
            conn.close()
