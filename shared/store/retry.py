"""Run a transaction again when it lost a race: serialization failures, deadlocks, write conflicts.

`async with store.transaction()` cannot re-run its own body, so the work is a function:
`await transact(store, work)` calls `work(tx)` in a fresh transaction until one commits, a
bounded number of times, then gives up with StoreUnavailableError (a 503 at the edge).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from shared.store import ConflictError, Store, StoreUnavailableError, Writer

R = TypeVar("R")
ATTEMPTS = 8
_BASE_S = 0.005  # the n-th conflict waits up to _BASE_S * 2**n, at most _CAP_S
_CAP_S = 0.2
log = logging.getLogger("hulei.store")


def _conflicted(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.debug("transaction conflict, attempt %d: %r", state.attempt_number, error)


async def transact(
    store: Store, work: Callable[[Writer], Awaitable[R]], *, attempts: int = ATTEMPTS
) -> R:
    """`work` may run more than once: it must do nothing outside `tx` it cannot repeat."""

    async def once() -> R:
        async with store.transaction() as tx:
            return await work(tx)

    try:
        # Tried bare first: nearly every transaction commits at once, and the retry machinery
        # costs more CPU than a small transaction.
        return await once()
    except ConflictError as exc:
        if attempts <= 1:
            raise StoreUnavailableError("transaction conflicting after 1 attempt") from exc
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(ConflictError),
        stop=stop_after_attempt(attempts - 1),
        # Full jitter: racing transactions spread out instead of colliding again.
        wait=wait_random_exponential(multiplier=2 * _BASE_S, max=_CAP_S),
        before_sleep=_conflicted,
    )
    try:
        return await retrying(once)
    except RetryError as exc:
        raise StoreUnavailableError(
            f"transaction still conflicting after {attempts} attempts"
        ) from exc.last_attempt.exception()
