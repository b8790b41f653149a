"""school_liaison's persistence on the store port: schools, reports, idempotency records,
children's wrapped keys and pending erasures."""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter

from services.school_liaison.demo import DISTRICT, SCHOOLS
from services.school_liaison.domain import PendingErasure
from shared.store import Cursor, Doc, Range, Reader, Store, Writer
from shared.store.migrations import Migration
from shared.store.retry import transact

SCHOOLS_C = "schools"
REPORTS_C = "reports"
IDEMPOTENCY_C = "idempotency_keys"
CHILD_KEYS_C = "child_keys"
PENDING_ERASURES_C = "pending_erasures"
# Bounds are written as the documents are (pydantic's JSON form), so strings compare in order.
_DATETIME = TypeAdapter(datetime)


async def _indexes_v1(store: Store) -> None:
    await store.ensure_index(REPORTS_C, ["school_id"])
    await store.ensure_index(REPORTS_C, ["child_ref", "filed_at"])
    await store.ensure_index(IDEMPOTENCY_C, ["report_id"])


async def _erasures_by_closure_v2(store: Store) -> None:
    await store.ensure_index(PENDING_ERASURES_C, ["closed_at"])


MIGRATIONS = [
    Migration(1, "reports by school and by child, idempotency records by report", _indexes_v1),
    Migration(
        2, "pending erasures by closure time, for the retention sweep", _erasures_by_closure_v2
    ),
]


async def seed_demo_schools(store: Store) -> None:
    async def seed(tx: Writer) -> None:
        for s in SCHOOLS:
            await tx.put(
                SCHOOLS_C,
                {
                    "id": s.id,
                    "name": s.name,
                    "district": DISTRICT,
                    "is_liaison_station": s.is_liaison_station,
                    "community_officer_id": s.community_officer_id,
                    "social_org_id": s.social_org_id,
                },
            )

    await transact(store, seed)


async def list_schools(store: Reader) -> list[Doc]:
    return await store.find(SCHOOLS_C, order_by="id")


async def get_school(store: Reader, *, school_id: str) -> Doc | None:
    return await store.get(SCHOOLS_C, school_id)


async def get_report(store: Reader, *, report_id: str) -> Doc | None:
    return await store.get(REPORTS_C, report_id)


async def insert_report(tx: Writer, *, report: Doc) -> None:
    await tx.insert(REPORTS_C, report)


async def put_report(tx: Writer, *, report: Doc) -> None:
    await tx.put(REPORTS_C, report)


async def reports_of_child(store: Reader, *, child_ref: str) -> list[Doc]:
    return await store.find(REPORTS_C, where={"child_ref": child_ref}, order_by="filed_at")


async def erase_report(tx: Writer, *, report: Doc, at: datetime) -> None:
    """Drop the sealed details; the facts (school, category, severity, dates) stay for counting."""
    await tx.put(REPORTS_C, {**report, "sealed": None, "erased_at": at.isoformat()})


async def set_report_case(tx: Writer, *, report_id: str, case_id: str) -> bool:
    report = await tx.get(REPORTS_C, report_id)
    if report is None:
        return False
    await tx.put(REPORTS_C, {**report, "case_id": case_id})
    return True


def idempotency_id(*, user_id: str, key: str) -> str:
    return f"{user_id}:{key}"


async def get_idempotency(store: Reader, *, user_id: str, key: str) -> Doc | None:
    return await store.get(IDEMPOTENCY_C, idempotency_id(user_id=user_id, key=key))


async def insert_idempotency(
    tx: Writer, *, user_id: str, key: str, report_id: str, fingerprint: str, at: str
) -> None:
    await tx.insert(
        IDEMPOTENCY_C,
        {
            "id": idempotency_id(user_id=user_id, key=key),
            "report_id": report_id,
            "fingerprint": fingerprint,
            "created_at": at,
        },
    )


async def delete_idempotency_for(tx: Writer, *, report_ids: list[str]) -> None:
    # The fingerprint is a hash of a body that named the child: it goes with the details.
    for record in await tx.find(IDEMPOTENCY_C, where={"report_id": report_ids}):
        await tx.delete(IDEMPOTENCY_C, record["id"])


# --- children's keys ---------------------------------------------------------------------------


async def get_child_key(store: Reader, *, child_ref: str) -> Doc | None:
    return await store.get(CHILD_KEYS_C, child_ref)


async def insert_child_key(tx: Writer, *, child_ref: str, wrapped: str, at: datetime) -> None:
    """The child reference is the id: two reports racing for a new child get one key."""
    await tx.insert(
        CHILD_KEYS_C, {"id": child_ref, "wrapped": wrapped, "created_at": at.isoformat()}
    )


async def delete_child_key(tx: Writer, *, child_ref: str) -> None:
    await tx.delete(CHILD_KEYS_C, child_ref)


# --- pending erasures --------------------------------------------------------------------------


def _pending(doc: Doc) -> PendingErasure:
    return PendingErasure.model_validate({**doc, "child_ref": doc["id"]})


async def get_pending_erasure(store: Reader, *, child_ref: str) -> PendingErasure | None:
    doc = await store.get(PENDING_ERASURES_C, child_ref)
    return _pending(doc) if doc else None


async def erasures_closed_before(
    store: Reader, *, cutoff: datetime, after: Cursor | None = None, limit: int = 500
) -> tuple[list[PendingErasure], Cursor | None]:
    """A page of children whose cases closed before `cutoff`, oldest first (cancelled ones,
    with no closure time, never match), and the cursor of the next page. A prefilter: the
    sweep decides in its transaction."""
    bound = _DATETIME.dump_python(cutoff, mode="json")
    docs = await store.find(
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
