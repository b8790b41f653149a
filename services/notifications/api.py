"""notifications' routes: the caller's inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.notifications import store as db
from shared.contracts.notifications import NotificationView
from shared.events import utcnow
from shared.store import Doc
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


@router.get("/notifications", response_model=list[NotificationView])
async def my_inbox(
    caller: CallerDep,
    rt: RuntimeDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Doc]:
    return await db.inbox(rt.store, recipients=caller.inbox_keys, unread_only=unread, limit=limit)


@router.post("/notifications/{notice_id}/read", response_model=NotificationView)
async def mark_read(notice_id: str, caller: CallerDep, rt: RuntimeDep) -> Doc:
    notice = await db.get_notice(rt.store, notice_id=notice_id)
    if notice is None or notice["recipient"] not in caller.inbox_keys:
        raise HTTPException(404, "notification not found")
    at = utcnow().isoformat()
    return await rt.transact(lambda uow: db.mark_read(uow.tx, notice=notice, at=at))
