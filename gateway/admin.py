"""Admin routes: the dead letters of the event pipeline, listed and replayed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from gateway.auth import AdminDep
from shared.bus import Bus
from shared.contracts.ops import DeadLetteredView
from shared.deadletters import list_dead_letters, replay_dead_letter

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def get_bus(request: Request) -> Bus:
    bus: Bus = request.app.state.bus
    return bus


BusDep = Annotated[Bus, Depends(get_bus)]


@router.get("/dead-letters", response_model=list[DeadLetteredView])
async def dead_letters(
    admin: AdminDep, bus: BusDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeadLetteredView]:
    return await list_dead_letters(bus, limit=limit)


@router.post(
    "/dead-letters/{dead_letter_id}/replay", response_model=DeadLetteredView, status_code=202
)
async def replay(dead_letter_id: int, admin: AdminDep, bus: BusDep) -> DeadLetteredView:
    """Republish the event to its original subject; it leaves the dead-letter list."""
    view = await replay_dead_letter(bus, seq=dead_letter_id, by=admin.user_id)
    if view is None:
        raise HTTPException(404, "dead letter not found")
    return view
