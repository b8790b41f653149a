"""patrol's use cases, in the calling convention of every service's service.py: reads take the
store port (`welfare_checks(port, *, ...)`), the work of one transaction takes its unit of
work (`plan_welfare_check(uow, *, ...)`), keyword-only after the first argument."""

from __future__ import annotations

from services.patrol import domain, store
from services.patrol.domain import WelfareCheck
from shared.contracts.cases import TaskCreated
from shared.events import utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader


async def welfare_checks(
    port: Reader, *, caller: Principal, limit: int, after: Cursor | None = None
) -> tuple[list[WelfareCheck], Cursor | None]:
    """The visits the caller may list, soonest first: a page, and the next page's cursor."""
    where = domain.welfare_check_filter(caller)
    if where is None:
        return [], None
    return await store.find_welfare_checks(port, where=where, limit=limit, after=after)


async def plan_welfare_check(uow: UnitOfWork, *, task: TaskCreated) -> WelfareCheck | None:
    """An urgent police visit joins the patrol plan; other tasks change nothing."""
    if not domain.needs_welfare_check(task):
        return None
    check = domain.welfare_check_for(task, now=utcnow())
    await store.put_welfare_check(uow.tx, check=check)
    return check
