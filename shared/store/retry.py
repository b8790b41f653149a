"""Run a transaction again when it lost a race: serialization failures, deadlocks, write conflicts.

`async with store.transaction()` cannot re-run its own body, so the work is a function:
`await transact(store, work)` calls `work(tx)` in a fresh transaction until one commits, a
bounded number of times, then gives up with StoreUnavailableError (a 503 at the edge).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.store import ConflictError, Store, StoreUnavailableError, Writer

R = TypeVar("R")
ATTEMPTS = 8
_BASE_S = 0.005
_CAP_S = 0.2
log = logging.getLogger("hulei.store")


async def transact(
    store: Store, work: Callable[[Writer], Awaitable[R]], *, attempts: int = ATTEMPTS
) -> R:
    """`work` may run more than once: it must do nothing outside `tx` it cannot repeat."""
    for attempt in range(1, attempts + 1):
        try:
            async with store.transaction() as tx:
                result = await work(tx)
            return result
        except ConflictError as exc:
            if attempt == attempts:
                raise StoreUnavailableError(
                    f"transaction still conflicting after {attempts} attempts"
                ) from exc
            log.debug("transaction conflict, attempt %d: %r", attempt, exc)
            # Full jitter: racing transactions spread out instead of colliding again.
            await asyncio.sleep(random.uniform(0, min(_CAP_S, _BASE_S * 2**attempt)))
    raise AssertionError("unreachable")
