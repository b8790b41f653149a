"""Group commit: units of work that come while one transaction is formed or committing share the
next one, one commit (one fsync) for all of them, each with its own outcome.

A request's transaction is a few statements and a commit, and the commit (its fsync, or on
PostgreSQL its round trip inside the writer lock) is most of its cost. Requests that arrive
together (filings at 200 a second) take the same turn: their units of work run one after another
in one transaction, as the same requests would one after another in their own. A unit of work
that raises fails alone: the transaction is rolled back, the units before it commit again without
it, those after it go on in their own; the one that raised gets its error after the others
committed, as it would have after them. A commit that fails (an outage) is tried again for each
unit alone, so each keeps its own fate. Each unit runs in its caller's context (its trace).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.store import ConflictError

U = TypeVar("U")  # the unit of work handed to each work
R = TypeVar("R")

# Units in one transaction at most, as a consumer's batch (shared/bus.py BATCH): a bigger group
# holds the writer longer and, when one of its units fails, runs more of them again.
MAX_UNITS = 64

# Set while a group's work runs: a work that waits on a transaction of its own would wait for the
# group it is part of, for ever.
_IN_GROUP: contextvars.ContextVar[bool] = contextvars.ContextVar("in_commit_group", default=False)


@dataclass
class _Failed:
    error: Exception


Outcome = Any  # a work's result, or _Failed


class _WorkFailed(Exception):
    """The `index`-th work of a group raised `error`."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


@dataclass
class _Waiting(Generic[U]):
    work: Callable[[U], Awaitable[Any]]
    context: contextvars.Context
    done: asyncio.Future[Any]


class CommitGroups(Generic[U]):
    """`transact(work)` as the runtime's, with concurrent callers sharing a transaction.
    `alone(work)` runs one work in a transaction of its own (retried on conflicts)."""

    def __init__(
        self,
        alone: Callable[[Callable[[U], Awaitable[Any]]], Awaitable[Any]],
        *,
        committed: Callable[[int], None] | None = None,
    ) -> None:
        self._alone = alone
        self._committed = committed or _ignored  # told how many units each commit carried
        self._waiting: list[_Waiting[U]] = []
        self._runner: asyncio.Task[None] | None = None

    async def transact(self, work: Callable[[U], Awaitable[R]]) -> R:
        if _IN_GROUP.get():
            raise RuntimeError("a unit of work may not start a transaction of its own")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._waiting.append(_Waiting(work, contextvars.copy_context(), done))
        if self._runner is None:
            # Starts on the loop's next turn: what else arrives meanwhile joins the group.
            self._runner = loop.create_task(self._run())
        return await done

    async def _run(self) -> None:
        group: list[_Waiting[U]] = []
        try:
            while self._waiting:
                # A caller cancelled before its turn is left out: nothing of it was written.
                live = [w for w in self._waiting if not w.done.done()]
                group, self._waiting = live[:MAX_UNITS], live[MAX_UNITS:]
                outcomes = await self._together(group)
                for waiting, outcome in zip(group, outcomes, strict=True):
                    _settle(waiting.done, outcome)
                group = []
        except BaseException as exc:
            for waiting in [*group, *self._waiting]:
                _abandon(waiting.done, exc)
            self._waiting = []
            raise
        finally:
            self._runner = None

    async def _together(self, group: Sequence[_Waiting[U]]) -> list[Outcome]:
        if not group:
            return []
        if len(group) == 1:
            try:
                result = await self._alone(lambda uow: _run_as(group[0], uow))
            except Exception as exc:
                return [_Failed(exc)]
            self._committed(1)
            return [result]

        async def work(uow: U) -> list[Any]:
            results = []
            for index, waiting in enumerate(group):
                try:
                    results.append(await _run_as(waiting, uow))
                except ConflictError:
                    raise  # the whole group lost a race: it runs again from the start
                except Exception as exc:
                    raise _WorkFailed(index, exc) from exc
            return results

        try:
            results = list(await self._alone(work))
        except _WorkFailed as failed:
            head = await self._together(group[: failed.index])
            tail = await self._together(group[failed.index + 1 :])
            return [*head, _Failed(failed.error), *tail]
        except Exception:
            # The commit failed: each alone keeps its own fate (and the outage its own error).
            return [outcome for one in group for outcome in await self._together([one])]
        self._committed(len(group))
        return results


def _ignored(units: int) -> None:
    del units


async def _run_as(waiting: _Waiting[U], uow: U) -> Any:
    """The work, in its caller's context (a copy: what it sets stays with it)."""

    async def guarded() -> Any:
        _IN_GROUP.set(True)
        return await waiting.work(uow)

    return await asyncio.create_task(guarded(), context=waiting.context)


def _settle(done: asyncio.Future[Any], outcome: Outcome) -> None:
    if done.done():  # its caller was cancelled meanwhile; what it wrote is committed
        return
    if isinstance(outcome, _Failed):
        done.set_exception(outcome.error)
    else:
        done.set_result(outcome)


def _abandon(done: asyncio.Future[Any], exc: BaseException) -> None:
    if done.done():
        return
    if isinstance(exc, asyncio.CancelledError) or not isinstance(exc, Exception):
        done.cancel()
    else:
        done.set_exception(exc)
