"""school_liaison's persistence on the store port: schools, reports, idempotency records,
children's wrapped keys and pending erasures. Models in, models out: documents stay here."""

from __future__ import annotations

from datetime import datetime

from services.school_liaison.demo import DISTRICT, SCHOOLS
from services.school_liaison.models import (
    ChildKey,
    IdempotencyRecord,
    PendingErasure,
    Report,
    School,
)
from shared.events import stored_time, utcnow
from shared.store import Cursor, Doc, DuplicateKeyError, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration
from shared.store.retry import transact

SCHOOLS_C = "schools"
REPORTS_C = "reports"
IDEMPOTENCY_C = "idempotency_keys"
CHILD_KEYS_C = "child_keys"
PENDING_ERASURES_C = "pending_erasures"
DEMO_SEEDS_C = "demo_seeds"
# Bounds are written as the documents are (pydantic's JSON form), so strings compare in order.


async def _indexes_v1(port: Store) -> None:
    await port.ensure_index(REPORTS_C, ["school_id"])
    await port.ensure_index(REPORTS_C, ["child_ref", "filed_at"])
    await port.ensure_index(IDEMPOTENCY_C, ["report_id"])


async def _erasures_by_closure_v2(port: Store) -> None:
    await port.ensure_index(PENDING_ERASURES_C, ["closed_at"])


MIGRATIONS = [
    Migration(1, "reports by school and by child, idempotency records by report", _indexes_v1),
    Migration(
        2, "pending erasures by closure time, for the retention sweep", _erasures_by_closure_v2
    ),
]


async def seed_demo_schools(port: Store) -> None:
    schools = [
        School(
            id=s.id,
            name=s.name,
            district=DISTRICT,
            is_liaison_station=s.is_liaison_station,
            community_officer_id=s.community_officer_id,
            social_org_id=s.social_org_id,
        )
        for s in SCHOOLS
    ]

    async def seed(tx: Writer) -> None:
        for school in schools:
            await tx.put(SCHOOLS_C, school.model_dump(mode="json"))

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


async def list_schools(
    port: Reader, *, limit: int, after: Cursor | None = None
) -> tuple[list[School], Cursor | None]:
    """By id; the next page's cursor, if any."""
    docs, cursor = await find_page(port, SCHOOLS_C, order_by="id", limit=limit, after=after)
    return [School.model_validate(d) for d in docs], cursor


async def get_school(port: Reader, *, school_id: str) -> School | None:
    doc = await port.get(SCHOOLS_C, school_id)
    return School.model_validate(doc) if doc else None


async def insert_school(tx: Writer, *, school: School) -> None:
    """DuplicateKeyError if its id is taken."""
    await tx.insert(SCHOOLS_C, school.model_dump(mode="json"))


# --- reports -----------------------------------------------------------------------------------


async def get_report(port: Reader, *, report_id: str) -> Report | None:
    doc = await port.get(REPORTS_C, report_id)
    return Report.model_validate(doc) if doc else None


async def insert_report(tx: Writer, *, report: Report) -> None:
    await tx.insert(REPORTS_C, report.model_dump(mode="json"))


async def reports_of_child(port: Reader, *, child_ref: str) -> list[Report]:
    docs = await port.find(REPORTS_C, where={"child_ref": child_ref}, order_by="filed_at")
    return [Report.model_validate(d) for d in docs]


async def erase_report(tx: Writer, *, report: Report, at: datetime) -> None:
    """Drop the sealed details; the facts (school, category, severity, dates) stay for counting."""
    erased = report.model_copy(update={"sealed": None, "erased_at": at})
    await tx.put(REPORTS_C, erased.model_dump(mode="json"))


async def set_report_case(tx: Writer, *, report_id: str, case_id: str) -> bool:
    report = await get_report(tx, report_id=report_id)
    if report is None:
        return False
    await tx.put(REPORTS_C, report.model_copy(update={"case_id": case_id}).model_dump(mode="json"))
    return True


# --- idempotency records -----------------------------------------------------------------------


def _idempotency_id(*, user_id: str, key: str) -> str:
    return f"{user_id}:{key}"


async def get_idempotency(port: Reader, *, user_id: str, key: str) -> IdempotencyRecord | None:
    doc = await port.get(IDEMPOTENCY_C, _idempotency_id(user_id=user_id, key=key))
    return IdempotencyRecord.model_validate(doc) if doc else None


async def insert_idempotency(
    tx: Writer, *, user_id: str, key: str, record: IdempotencyRecord
) -> None:
    """Raises DuplicateKeyError when the caller already used `key` (a concurrent retry)."""
    doc = {"id": _idempotency_id(user_id=user_id, key=key), **record.model_dump(mode="json")}
    await tx.insert(IDEMPOTENCY_C, doc)


async def delete_idempotency_for(tx: Writer, *, report_ids: list[str]) -> None:
    # The fingerprint is a hash of a body that named the child: it goes with the details.
    for doc in await tx.find(IDEMPOTENCY_C, where={"report_id": report_ids}):
        await tx.delete(IDEMPOTENCY_C, doc["id"])


# --- children's keys ---------------------------------------------------------------------------


async def get_child_key(port: Reader, *, child_ref: str) -> ChildKey | None:
    doc = await port.get(CHILD_KEYS_C, child_ref)
    return ChildKey.model_validate({**doc, "child_ref": doc["id"]}) if doc else None


async def insert_child_key(tx: Writer, *, key: ChildKey) -> None:
    """The child reference is the id: two reports racing for a new child get one key."""
    doc = key.model_dump(mode="json", exclude={"child_ref"})
    await tx.insert(CHILD_KEYS_C, {"id": key.child_ref, **doc})


async def put_child_key(tx: Writer, *, key: ChildKey) -> None:
    doc = key.model_dump(mode="json", exclude={"child_ref"})
    await tx.put(CHILD_KEYS_C, {"id": key.child_ref, **doc})


async def delete_child_key(tx: Writer, *, child_ref: str) -> None:
    await tx.delete(CHILD_KEYS_C, child_ref)


# --- pending erasures --------------------------------------------------------------------------


def _pending(doc: Doc) -> PendingErasure:
    return PendingErasure.model_validate({**doc, "child_ref": doc["id"]})


async def get_pending_erasure(port: Reader, *, child_ref: str) -> PendingErasure | None:
    doc = await port.get(PENDING_ERASURES_C, child_ref)
    return _pending(doc) if doc else None


async def erasures_closed_before(
    port: Reader, *, cutoff: datetime, after: Cursor | None = None, limit: int = 500
) -> tuple[list[PendingErasure], Cursor | None]:
    """A page of children whose cases closed before `cutoff`, oldest first (cancelled ones,
    with no closure time, never match), and the cursor of the next page. A prefilter: the
    sweep decides in its transaction."""
    bound = stored_time(cutoff)
    docs = await port.find(
        PENDING_ERASURES_C,
        where={"closed_at": Range(lt=bound)},
        order_by="closed_at",
        limit=limit,
        after=after,
    )
    return [_pending(d) for d in docs], Cursor.of(docs[-1], "closed_at") if docs else None


async def put_pending_erasure(tx: Writer, *, pending: PendingErasure) -> None:
    doc = pending.model_dump(mode="json", exclude={"child_ref"})
    await tx.put(PENDING_ERASURES_C, {"id": pending.child_ref, **doc})


async def delete_pending_erasure(tx: Writer, *, child_ref: str) -> None:
    await tx.delete(PENDING_ERASURES_C, child_ref)
