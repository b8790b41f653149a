"""Inspections' persistence on the store port: the checklist, inspections, notices and the
figures per school (kept with each change, in its transaction). Models in, models out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.patrol.inspections.domain import (
    DEFAULT_CHECKLIST,
    Inspection,
    Notice,
    default_checklists,
)
from shared.contracts.inspections import (
    ChecklistItem,
    ChecklistItemView,
    ChecklistKind,
    ItemStatus,
    NoticeStatus,
    SchoolFigures,
)
from shared.events import stored_time, utcnow
from shared.store import Cursor, Doc, DuplicateKeyError, Range, Reader, Store, Writer
from shared.store.keyset import find_page, find_page_of_any
from shared.store.migrations import Migration
from shared.store.retry import transact

CHECKLIST_C = "inspection_checklist"
INSPECTIONS_C = "inspections"
NOTICES_C = "rectification_notices"
FIGURES_C = "inspection_figures"
DEMO_SEEDS_C = "demo_seeds"
COMPONENT = "patrol.inspections"  # its own migration sequence


async def _indexes(port: Store) -> None:
    await port.ensure_index(INSPECTIONS_C, ["school_id", "inspected_at"])
    await port.ensure_index(INSPECTIONS_C, ["inspected_at"])
    await port.ensure_index(NOTICES_C, ["school_id", "deadline"])
    await port.ensure_index(NOTICES_C, ["deadline"])
    await port.ensure_index(NOTICES_C, ["status", "deadline"])


async def _default_checklist(port: Store) -> None:
    """The station's first checklist (safe to run again: an item kept is left as it is)."""

    async def seed(tx: Writer) -> None:
        for item in DEFAULT_CHECKLIST:
            if await tx.get(CHECKLIST_C, item.code) is None:
                await tx.put(CHECKLIST_C, {"id": item.code, **item.model_dump(mode="json")})

    await transact(port, seed)


async def claim_demo_seed(port: Store, *, name: str) -> bool:
    """True for the one start that seeds the demo data `name`: the claim is committed before
    the seeding, so a user's own records made meanwhile never look like seeded ones, and two
    replicas starting together seed once. (A crash mid-seed leaves that demo data partial.)"""

    async def claim(tx: Writer) -> None:
        await tx.insert(DEMO_SEEDS_C, {"id": name, "at": utcnow().isoformat()})

    try:
        await transact(port, claim)
    except DuplicateKeyError:
        return False
    return True


async def _checklists_by_kind(port: Store) -> None:
    """One collection for every kind's checklist (schools', each venue kind's): the school
    items are keyed `school:<code>` with a status, and the venue kinds' first lists (until
    now in code) are seeded. Safe to run again."""
    await port.ensure_index(CHECKLIST_C, ["kind", "status", "id"])

    async def move(tx: Writer) -> None:
        for doc in await tx.find(CHECKLIST_C):
            item = _item(doc)  # an item without a kind is a school's
            if doc["id"] != item_id(item.kind, item.code):  # keyed by its code alone
                await tx.delete(CHECKLIST_C, doc["id"])
                await tx.put(CHECKLIST_C, _doc(item))
        for items in default_checklists().values():
            for seed in items:
                if await tx.get(CHECKLIST_C, item_id(seed.kind, seed.code)) is None:
                    await tx.put(CHECKLIST_C, _doc(ChecklistItemView(**seed.model_dump())))

    await transact(port, move)


MIGRATIONS = [
    Migration(1, "inspections and notices by school and by deadline", _indexes),
    Migration(2, "the default safety checklist", _default_checklist),
    Migration(3, "checklists per kind (schools, venue kinds), retirable", _checklists_by_kind),
]


def item_id(kind: ChecklistKind, code: str) -> str:
    return f"{kind.value}:{code}"


def _doc(item: ChecklistItemView) -> Doc:
    return {"id": item_id(item.kind, item.code), **item.model_dump(mode="json")}


def _item(doc: Doc) -> ChecklistItemView:
    return ChecklistItemView.model_validate({k: v for k, v in doc.items() if k != "id"})


async def checklist(port: Reader, *, kind: ChecklistKind) -> list[ChecklistItemView]:
    """The items a new inspection of this kind answers (not the retired ones)."""
    where = {"kind": kind.value, "status": ItemStatus.active.value}
    return [_item(d) for d in await port.find(CHECKLIST_C, where=where, order_by="id")]


async def checklist_page(
    port: Reader, *, kind: ChecklistKind, retired: bool, limit: int, after: Cursor | None
) -> tuple[list[ChecklistItemView], Cursor | None]:
    """By code; `retired` True lists the retired items too (past inspections name them)."""
    where = {"kind": kind.value} if retired else {"kind": kind.value, "status": "active"}
    docs, cursor = await find_page(
        port, CHECKLIST_C, where=where, order_by="id", limit=limit, after=after
    )
    return [_item(d) for d in docs], cursor


async def get_item(port: Reader, *, kind: ChecklistKind, code: str) -> ChecklistItemView | None:
    doc = await port.get(CHECKLIST_C, item_id(kind, code))
    return _item(doc) if doc else None


async def insert_item(tx: Writer, *, item: ChecklistItem) -> ChecklistItemView:
    """Raises DuplicateKeyError for a code the kind's checklist has (retired or not)."""
    view = ChecklistItemView(**item.model_dump())
    await tx.insert(CHECKLIST_C, _doc(view))
    return view


async def put_item(tx: Writer, *, item: ChecklistItemView) -> None:
    await tx.put(CHECKLIST_C, _doc(item))


async def put_inspection(tx: Writer, *, inspection: Inspection) -> None:
    await tx.put(INSPECTIONS_C, inspection.model_dump(mode="json"))


async def get_notice(port: Reader, *, notice_id: str) -> Notice | None:
    doc = await port.get(NOTICES_C, notice_id)
    return Notice.model_validate(doc) if doc else None


async def put_notice(tx: Writer, *, notice: Notice) -> None:
    await tx.put(NOTICES_C, notice.model_dump(mode="json"))


async def _page(
    port: Reader,
    collection: str,
    *,
    schools: Sequence[str] | None,
    where: dict[str, Any],
    order_by: str,
    descending: bool,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Doc], Cursor | None]:
    """`schools` None: every school; else only those (one index range each)."""
    if schools is None:
        return await find_page(
            port,
            collection,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
            after=after,
        )
    if not schools:
        return [], None
    return await find_page_of_any(
        port,
        collection,
        field="school_id",
        values=schools,
        where=where,
        order_by=order_by,
        descending=descending,
        limit=limit,
        after=after,
    )


async def inspections(
    port: Reader, *, schools: Sequence[str] | None, limit: int, after: Cursor | None
) -> tuple[list[Inspection], Cursor | None]:
    """Newest first."""
    docs, cursor = await _page(
        port,
        INSPECTIONS_C,
        schools=schools,
        where={},
        order_by="inspected_at",
        descending=True,
        limit=limit,
        after=after,
    )
    return [Inspection.model_validate(d) for d in docs], cursor


async def notices(
    port: Reader,
    *,
    schools: Sequence[str] | None,
    status: NoticeStatus | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Notice], Cursor | None]:
    """Soonest deadline first."""
    where = {"status": status.value} if status else {}
    docs, cursor = await _page(
        port,
        NOTICES_C,
        schools=schools,
        where=where,
        order_by="deadline",
        descending=False,
        limit=limit,
        after=after,
    )
    return [Notice.model_validate(d) for d in docs], cursor


async def open_past(
    port: Reader, *, now: datetime, after: Cursor | None = None, limit: int = 500
) -> tuple[list[Notice], Cursor | None]:
    """Open notices past their deadline, oldest first: the sweep's prefilter."""
    docs, cursor = await find_page(
        port,
        NOTICES_C,
        where={"status": "open", "deadline": Range(lt=stored_time(now))},
        order_by="deadline",
        limit=limit,
        after=after,
    )
    return [Notice.model_validate(d) for d in docs], cursor


async def overdue_count(port: Reader, *, school_id: str, now: datetime) -> int:
    return await port.count(
        NOTICES_C,
        where={"school_id": school_id, "status": "open", "deadline": Range(lt=stored_time(now))},
    )


# --- figures per school --------------------------------------------------------------------


def _zero(school_id: str) -> dict[str, Any]:
    return {
        "id": school_id,
        "school_id": school_id,
        "inspections": 0,
        "items_failed": 0,
        "notices_open": 0,
        "notices_closed": 0,
        "last_inspected_at": None,
    }


async def add_to_figures(
    tx: Writer, *, school_id: str, at: datetime | None = None, **counts: int
) -> None:
    doc = await tx.get(FIGURES_C, school_id) or _zero(school_id)
    for name, delta in counts.items():
        doc[name] = int(doc[name]) + delta
    if at is not None:
        doc["last_inspected_at"] = stored_time(at)
    await tx.put(FIGURES_C, doc)


async def figures(
    port: Reader, *, schools: Sequence[str] | None, limit: int, after: Cursor | None
) -> tuple[list[Doc], Cursor | None]:
    """By school id; the documents (SchoolFigures without `overdue`, counted at read)."""
    return await _page(
        port,
        FIGURES_C,
        schools=schools,
        where={},
        order_by="id",
        descending=False,
        limit=limit,
        after=after,
    )


def figures_of(doc: Doc, *, overdue: int) -> SchoolFigures:
    return SchoolFigures.model_validate({**doc, "overdue": overdue})
