"""patrol's persistence on the store port: welfare-check visits. Models in, models out."""

from __future__ import annotations

from services.patrol.domain import WelfareCheck
from shared.store import Reader, Store, Writer
from shared.store.migrations import Migration

WELFARE_CHECKS_C = "welfare_checks"


async def _visits_v1(port: Store) -> None:
    await port.ensure_index(WELFARE_CHECKS_C, ["officer_id", "due_at"])


MIGRATIONS = [Migration(1, "welfare checks by officer, soonest first", _visits_v1)]


async def put_welfare_check(tx: Writer, *, check: WelfareCheck) -> None:
    await tx.put(WELFARE_CHECKS_C, check.model_dump(mode="json"))


async def find_welfare_checks(
    port: Reader, *, where: dict[str, str], limit: int
) -> list[WelfareCheck]:
    docs = await port.find(WELFARE_CHECKS_C, where=where, order_by="due_at", limit=limit)
    return [WelfareCheck.model_validate(d) for d in docs]
