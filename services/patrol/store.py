"""patrol's persistence on the store port: welfare-check visits."""

from __future__ import annotations

from shared.store import Doc, Reader, Store, Writer
from shared.store.migrations import Migration

WELFARE_CHECKS_C = "welfare_checks"


async def _visits_v1(store: Store) -> None:
    await store.ensure_index(WELFARE_CHECKS_C, ["officer_id", "due_at"])


MIGRATIONS = [Migration(1, "welfare checks by officer, soonest first", _visits_v1)]


async def put_welfare_check(tx: Writer, *, check: Doc) -> None:
    await tx.put(WELFARE_CHECKS_C, check)


async def find_welfare_checks(store: Reader, *, where: dict[str, str], limit: int) -> list[Doc]:
    return await store.find(WELFARE_CHECKS_C, where=where, order_by="due_at", limit=limit)
