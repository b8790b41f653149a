"""Venue supervision's persistence: venues (with their letter), venue inspections, and the
count of active venues per grid area (kept in each registration's transaction)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.patrol.venues.domain import Venue
from shared.contracts.venues import VenueInspectionView
from shared.events import stored_time
from shared.store import Cursor, Doc, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

VENUES_C = "venues"
INSPECTIONS_C = "venue_inspections"
AREAS_C = "venue_areas"
COMPONENT = "patrol.venues"


async def _indexes(port: Store) -> None:
    await port.ensure_index(VENUES_C, ["area", "id"])
    await port.ensure_index(VENUES_C, ["letter_expires_on"])
    await port.ensure_index(INSPECTIONS_C, ["venue_id", "inspected_at"])


MIGRATIONS = [Migration(1, "venues by area and letter expiry; inspections by venue", _indexes)]


async def get_venue(port: Reader, *, venue_id: str) -> Venue | None:
    doc = await port.get(VENUES_C, venue_id)
    return Venue.model_validate(doc) if doc else None


async def put_venue(tx: Writer, *, venue: Venue) -> None:
    await tx.put(VENUES_C, venue.model_dump(mode="json"))


async def venues(
    port: Reader, *, area: str | None, kind: str | None, limit: int, after: Cursor | None
) -> tuple[list[Venue], Cursor | None]:
    where: dict[str, Any] = {}
    if area:
        where["area"] = area
    if kind:
        where["kind"] = kind
    docs, cursor = await find_page(
        port, VENUES_C, where=where, order_by="id", limit=limit, after=after
    )
    return [Venue.model_validate(d) for d in docs], cursor


async def letters_expiring_by(
    port: Reader, *, day: date, limit: int = 500, after: Cursor | None = None
) -> tuple[list[Venue], Cursor | None]:
    """Venues whose letter expires on or before `day`: the sweep's prefilter."""
    docs, cursor = await find_page(
        port,
        VENUES_C,
        where={"letter_expires_on": Range(lte=day.isoformat())},
        order_by="letter_expires_on",
        limit=limit,
        after=after,
    )
    return [Venue.model_validate(d) for d in docs], cursor


async def add_to_area(tx: Writer, *, area: str, delta: int) -> None:
    doc = await tx.get(AREAS_C, area) or {"id": area, "area": area, "venues": 0}
    doc["venues"] = int(doc["venues"]) + delta
    await tx.put(AREAS_C, doc)


async def areas(
    port: Reader, *, limit: int, after: Cursor | None
) -> tuple[list[Doc], Cursor | None]:
    return await find_page(port, AREAS_C, order_by="id", limit=limit, after=after)


async def all_areas(port: Reader) -> list[Doc]:
    return await port.find(AREAS_C, order_by="id")


async def put_inspection(tx: Writer, *, inspection: VenueInspectionView) -> None:
    doc = inspection.model_dump(mode="json")
    doc["inspected_at"] = stored_time(inspection.inspected_at)  # sorts as stored times do
    await tx.put(INSPECTIONS_C, doc)


async def inspections(
    port: Reader, *, venue_id: str, limit: int, after: Cursor | None
) -> tuple[list[VenueInspectionView], Cursor | None]:
    """Newest first."""
    docs, cursor = await find_page(
        port,
        INSPECTIONS_C,
        where={"venue_id": venue_id},
        order_by="inspected_at",
        descending=True,
        limit=limit,
        after=after,
    )
    return [VenueInspectionView.model_validate(d) for d in docs], cursor
