"""Legal-education events on the store port. Models in, models out."""

from __future__ import annotations

from collections.abc import Sequence

from services.school_liaison.education.domain import EducationEvent
from shared.store import Cursor, Reader, Store, Writer
from shared.store.keyset import find_page, find_page_of_any
from shared.store.migrations import Migration

EVENTS_C = "education_events"
COMPONENT = "school_liaison.education"  # its own migration sequence


async def _indexes(port: Store) -> None:
    await port.ensure_index(EVENTS_C, ["school_id", "term", "held_on"])
    await port.ensure_index(EVENTS_C, ["term", "held_on"])
    await port.ensure_index(EVENTS_C, ["held_on"])


MIGRATIONS = [Migration(1, "education events by school and term, by term, by date", _indexes)]


async def get_event(port: Reader, *, event_id: str) -> EducationEvent | None:
    doc = await port.get(EVENTS_C, event_id)
    return EducationEvent.model_validate(doc) if doc else None


async def put_event(tx: Writer, *, event: EducationEvent) -> None:
    await tx.put(EVENTS_C, event.model_dump(mode="json"))


async def events(
    port: Reader,
    *,
    schools: Sequence[str] | None,
    term: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[EducationEvent], Cursor | None]:
    """By date; `schools` None: every school."""
    where = {"term": term} if term else {}
    if schools is None:
        docs, cursor = await find_page(
            port, EVENTS_C, where=where, order_by="held_on", limit=limit, after=after
        )
    elif not schools:
        return [], None
    else:
        docs, cursor = await find_page_of_any(
            port,
            EVENTS_C,
            field="school_id",
            values=schools,
            where=where,
            order_by="held_on",
            limit=limit,
            after=after,
        )
    return [EducationEvent.model_validate(d) for d in docs], cursor


async def events_of_school(port: Reader, *, school_id: str, term: str) -> list[EducationEvent]:
    """One school's term: a few events, read whole for the plan."""
    docs = await port.find(EVENTS_C, where={"school_id": school_id, "term": term}, limit=500)
    return [EducationEvent.model_validate(d) for d in docs]
