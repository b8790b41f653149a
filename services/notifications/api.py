"""notifications' routes: the caller's inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.notifications import service
from services.notifications.domain import Notification
from shared.contracts.notifications import NotificationView
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


def _view(notification: Notification) -> NotificationView:
    return NotificationView.model_validate(notification, from_attributes=True)


@router.get("/notifications", response_model=list[NotificationView])
async def my_inbox(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterParam = None,
) -> Response:
    notifications, cursor = await service.inbox(
        rt.store, caller=caller, unread_only=unread, limit=limit, after=parse_after(after)
    )
    return page_response(request, [_view(n) for n in notifications], cursor)


@router.post("/notifications/{notice_id}/read", response_model=NotificationView)
async def mark_read(notice_id: str, caller: CallerDep, rt: RuntimeDep) -> NotificationView:
    notification = await service.mark_read(rt, caller=caller, notification_id=notice_id)
    return _view(notification)
