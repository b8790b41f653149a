"""Versioned schema and index migrations, recorded in the store and run once.

Each component (a service, the runtime's outbox) declares an ordered list of `Migration`s; at
start `migrate` applies those whose version has no "applied" record in `schema_migrations`.
Two replicas starting together: the record's id (`<component>:<version>`) is the lock, so one
runs the step while the other waits for the record to say "applied". Steps must be safe to run
again (ensure_index is; data steps should be written so). The process running a step renews
its record every third of `LEASE_S`; one that dies mid-step (killed, its node lost) stops
renewing, and the next start takes the step over once the record is older than that, seconds
later, not when the step would have had time to end.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shared.events import utcnow
from shared.store import DuplicateKeyError, Store, StoreUnavailableError, Writer
from shared.store.retry import transact
from shared.tasks import stop

COLLECTION = "schema_migrations"
_POLL_S = 0.05
# A running step's record not renewed for this long is a dead process's. A data step may run
# for minutes; it is renewed meanwhile, so the lease can be short.
LEASE_S = 15.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    step: Callable[[Store], Awaitable[None]]


async def migrate(
    store: Store,
    *,
    component: str,
    migrations: Sequence[Migration],
    wait_s: float = 60.0,
    stale_after_s: float = LEASE_S,
) -> list[int]:
    """Apply the missing migrations in order; return the versions this call applied."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"{component}: migration versions must be unique and increasing")
    applied: list[int] = []
    for migration in migrations:
        if await _run_once(store, component, migration, wait_s, stale_after_s):
            applied.append(migration.version)
    return applied


async def _run_once(
    store: Store, component: str, migration: Migration, wait_s: float, stale_after_s: float
) -> bool:
    record_id = f"{component}:{migration.version}"
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s

    async def claim(tx: Writer) -> bool | None:
        """True: ours to run. False: already applied. None: another process is running it."""
        record = await tx.get(COLLECTION, record_id)
        now = time.time()
        if record is not None:
            if record["status"] == "applied":
                return False
            if now - float(record["claimed_at"]) < stale_after_s:
                return None
        await tx.put(COLLECTION, _running(record_id, component, migration, owner))  # take over
        return True

    while True:
        if await store.get(COLLECTION, record_id) is None:
            # First come: the unique id decides between racing replicas (insert, not put).
            try:
                await store.insert(COLLECTION, _running(record_id, component, migration, owner))
                mine: bool | None = True
            except DuplicateKeyError:
                mine = None
        else:
            mine = await transact(store, claim)
        if mine is False:
            return False
        if mine:
            break
        if time.monotonic() > deadline:
            raise StoreUnavailableError(f"migration {record_id} is still being applied elsewhere")
        await asyncio.sleep(_POLL_S)  # another replica is applying it; poll, bounded

    renewal = asyncio.create_task(_renew(store, record_id, owner, every_s=stale_after_s / 3))
    try:
        await migration.step(store)
    except BaseException:
        await stop(renewal)  # before the release: the record is not renewed once let go
        await asyncio.shield(_release(store, record_id, owner))  # the next start tries again
        raise
    await stop(renewal)
    done = {
        **_running(record_id, component, migration, owner),
        "status": "applied",
        "applied_at": utcnow().isoformat(),
    }
    await store.put(COLLECTION, done)
    return True


def _running(record_id: str, component: str, migration: Migration, owner: str) -> dict[str, object]:
    return {
        "id": record_id,
        "component": component,
        "version": migration.version,
        "description": migration.description,
        "status": "running",
        "owner": owner,
        "claimed_at": time.time(),
    }


async def _renew(store: Store, record_id: str, owner: str, *, every_s: float) -> None:
    """Keep the running step's record fresh while this process lives (a background task)."""

    async def renew(tx: Writer) -> None:
        record = await tx.get(COLLECTION, record_id)
        if record is not None and record.get("owner") == owner and record["status"] == "running":
            await tx.put(COLLECTION, {**record, "claimed_at": time.time()})

    while True:
        await asyncio.sleep(every_s)  # the lease's period, not a wait for a condition
        try:
            await transact(store, renew)
        except Exception as exc:  # busy or away: the step goes on, the next period tries again
            log.warning("migration %s: its record was not renewed: %r", record_id, exc)


async def _release(store: Store, record_id: str, owner: str) -> None:
    async def release(tx: Writer) -> None:
        record = await tx.get(COLLECTION, record_id)
        if record is not None and record.get("owner") == owner and record["status"] == "running":
            await tx.delete(COLLECTION, record_id)

    await transact(store, release)
