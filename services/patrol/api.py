"""patrol's routes: the welfare-check visits on the patrol plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.patrol import domain
from services.patrol import store as db
from shared.contracts.patrol import WelfareCheckView
from shared.store import Doc
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


@router.get("/welfare-checks", response_model=list[WelfareCheckView])
async def list_welfare_checks(
    caller: CallerDep, rt: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> list[Doc]:
    where = domain.welfare_check_filter(caller)
    if where is None:
        return []
    return await db.find_welfare_checks(rt.store, where=where, limit=limit)
