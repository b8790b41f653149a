"""How adapters name failures, and what the retrying helper does with them (no server needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymongo import errors as mongo

from shared.store import ConflictError, DuplicateKeyError, StoreUnavailableError
from shared.store.mongo import _commit, _translate
from shared.store.retry import transact


def _labelled(label: str) -> mongo.OperationFailure:
    return mongo.OperationFailure("WriteConflict", code=112, details={"errorLabels": [label]})


def test_a_mongodb_write_conflict_is_a_conflict_to_run_again() -> None:
    translated = _translate(_labelled("TransientTransactionError"))
    assert isinstance(translated, ConflictError)


def test_a_mongodb_commit_of_unknown_outcome_is_an_outage_not_a_rerun() -> None:
    translated = _translate(_labelled("UnknownTransactionCommitResult"))
    assert isinstance(translated, StoreUnavailableError)
    assert not isinstance(translated, ConflictError)


def test_mongodb_duplicates_and_lost_connections_keep_their_names() -> None:
    assert isinstance(_translate(mongo.DuplicateKeyError("E11000")), DuplicateKeyError)
    assert isinstance(_translate(mongo.AutoReconnect("gone")), StoreUnavailableError)


class _Flaky:
    """A store whose first `conflicts` transactions lose a race (the part under test is the
    retry loop; real conflicts are in the store contract tests)."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.attempts = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.attempts += 1
        yield None
        if self.attempts <= self.conflicts:
            raise ConflictError("serialization failure")


async def test_transact_runs_the_work_again_until_it_commits() -> None:
    store = _Flaky(conflicts=2)
    runs: list[int] = []

    async def work(_tx: Any) -> str:
        runs.append(1)
        return "done"

    assert await transact(store, work) == "done"  # type: ignore[arg-type]
    assert store.attempts == 3
    assert len(runs) == 3


async def test_transact_gives_up_with_store_unavailable_after_its_attempts() -> None:
    store = _Flaky(conflicts=100)

    async def work(_tx: Any) -> None:
        return None

    with pytest.raises(StoreUnavailableError) as info:
        await transact(store, work, attempts=3)  # type: ignore[arg-type]
    assert not isinstance(info.value, ConflictError)  # the edge answers 503, nothing retries it
    assert store.attempts == 3


async def test_transact_does_not_rerun_work_that_failed_for_another_reason() -> None:
    store = _Flaky(conflicts=0)

    async def work(_tx: Any) -> None:
        raise ValueError("a bug, not a race")

    with pytest.raises(ValueError, match="a bug"):
        await transact(store, work)  # type: ignore[arg-type]
    assert store.attempts == 1


class _Session:
    """A MongoDB session whose first commits answer with the given error labels."""

    def __init__(self, *labels: str) -> None:
        self.labels = list(labels)
        self.commits = 0

    async def commit_transaction(self) -> None:
        self.commits += 1
        if self.labels:
            raise _labelled(self.labels.pop(0))


async def test_a_mongodb_commit_of_unknown_outcome_is_committed_again_bounded() -> None:
    session = _Session("UnknownTransactionCommitResult")
    await _commit(session)  # type: ignore[arg-type]
    assert session.commits == 2
    stuck = _Session(*["UnknownTransactionCommitResult"] * 5)
    with pytest.raises(mongo.OperationFailure):
        await _commit(stuck)  # type: ignore[arg-type]
    assert stuck.commits == 3
    conflict = _Session("TransientTransactionError")  # not a commit's to retry: the caller's
    with pytest.raises(mongo.OperationFailure):
        await _commit(conflict)  # type: ignore[arg-type]
    assert conflict.commits == 1
