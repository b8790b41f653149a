"""The video patrol's persistence: a check per school and day (its id is the key), and a
document per day with the schools checked, kept in each check's transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.patrol.video.domain import VideoCheck
from shared.events import stored_time
from shared.store import Cursor, Doc, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

CHECKS_C = "video_checks"
DAYS_C = "video_days"
COMPONENT = "patrol.video"


async def _indexes(port: Store) -> None:
    await port.ensure_index(CHECKS_C, ["day", "school_id"])
    await port.ensure_index(DAYS_C, ["day"])


MIGRATIONS = [Migration(1, "video checks by day; days by date", _indexes)]


async def insert_check(tx: Writer, *, check: VideoCheck) -> None:
    """Raises DuplicateKeyError when the school was checked that day already."""
    await tx.insert(CHECKS_C, check.model_dump(mode="json"))


async def checks_of(port: Reader, *, day: date) -> list[VideoCheck]:
    docs = await port.find(CHECKS_C, where={"day": day.isoformat()}, order_by="school_id")
    return [VideoCheck.model_validate(d) for d in docs]


async def get_day(port: Reader, *, day: date) -> Doc | None:
    return await port.get(DAYS_C, day.isoformat())


def _empty(day: date) -> dict[str, Any]:
    return {"id": day.isoformat(), "day": day.isoformat(), "checked": [], "findings": 0}


async def add_to_day(tx: Writer, *, day: date, school_id: str, findings: int) -> None:
    doc = await tx.get(DAYS_C, day.isoformat()) or _empty(day)
    doc["checked"] = sorted({*doc["checked"], school_id})
    doc["findings"] = int(doc["findings"]) + findings
    await tx.put(DAYS_C, doc)


async def claim_missing_alert(tx: Writer, *, day: date, now: datetime) -> Doc | None:
    """The day's document with the alert's claim written; None if claimed already."""
    doc = await tx.get(DAYS_C, day.isoformat()) or _empty(day)
    if doc.get("missing_alerted_at"):
        return None
    doc["missing_alerted_at"] = stored_time(now)
    await tx.put(DAYS_C, doc)
    return doc


async def days(
    port: Reader, *, start: date | None, end: date | None, limit: int, after: Cursor | None
) -> tuple[list[Doc], Cursor | None]:
    """Newest first, `start` … `end` inclusive."""
    where: dict[str, Any] = {}
    if start or end:
        where["day"] = Range(
            gte=start.isoformat() if start else None, lte=end.isoformat() if end else None
        )
    return await find_page(
        port, DAYS_C, where=where, order_by="day", descending=True, limit=limit, after=after
    )
