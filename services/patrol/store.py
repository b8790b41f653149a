"""patrol's persistence on the store port: welfare-check visits. Models in, models out."""

from __future__ import annotations

from services.patrol.domain import WelfareCheck
from shared.store import Cursor, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

WELFARE_CHECKS_C = "welfare_checks"


async def _visits_v1(port: Store) -> None:
    await port.ensure_index(WELFARE_CHECKS_C, ["officer_id", "due_at"])


async def _all_visits_v2(port: Store) -> None:
    # The station's whole plan, soonest first, page by page.
    await port.ensure_index(WELFARE_CHECKS_C, ["due_at"])


MIGRATIONS = [
    Migration(1, "welfare checks by officer, soonest first", _visits_v1),
    Migration(2, "all welfare checks, soonest first", _all_visits_v2),
]


async def put_welfare_check(tx: Writer, *, check: WelfareCheck) -> None:
    await tx.put(WELFARE_CHECKS_C, check.model_dump(mode="json"))


async def find_welfare_checks(
    port: Reader, *, where: dict[str, str], limit: int, after: Cursor | None = None
) -> tuple[list[WelfareCheck], Cursor | None]:
    """Soonest first; the next page's cursor, if any."""
    docs, cursor = await find_page(
        port, WELFARE_CHECKS_C, where=where, order_by="due_at", limit=limit, after=after
    )
    return [WelfareCheck.model_validate(d) for d in docs], cursor
