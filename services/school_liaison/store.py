"""school_liaison's persistence on the store port: schools, reports, idempotency records."""

from __future__ import annotations

from shared.demo import DISTRICT, SCHOOLS
from shared.store import Doc, Reader, Store, Writer

SCHOOLS_C = "schools"
REPORTS_C = "reports"
IDEMPOTENCY_C = "idempotency_keys"


async def prepare(store: Store) -> None:
    await store.ensure_index(REPORTS_C, ["school_id"])


async def seed_demo_schools(store: Store) -> None:
    async with store.transaction() as tx:
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


async def list_schools(store: Reader) -> list[Doc]:
    return await store.find(SCHOOLS_C, order_by="id")


async def get_school(store: Reader, *, school_id: str) -> Doc | None:
    return await store.get(SCHOOLS_C, school_id)


async def get_report(store: Reader, *, report_id: str) -> Doc | None:
    return await store.get(REPORTS_C, report_id)


async def insert_report(tx: Writer, *, report: Doc) -> None:
    await tx.insert(REPORTS_C, report)


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
