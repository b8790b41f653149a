"""Children's data keys on the store: created with a child's first report, read to open its
reports, destroyed to erase them. The crypto itself is in privacy.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.school_liaison import store
from services.school_liaison.models import ChildKey, Private, Report
from services.school_liaison.privacy import Sealer, new_data_key, seal, unseal
from shared.store import DuplicateKeyError, Reader, Writer

SEAL_VERSION = 2  # `sealed` is the private part under the child's own data key


class ChildKeyRace(Exception):
    """Another transaction created this child's key first and this one cannot see it yet:
    retry the whole unit of work, which then reads that key."""


async def data_key_for(tx: Writer, sealer: Sealer, *, child_ref: str, now: datetime) -> bytes:
    """The child's data key, created in the caller's transaction if the child has none yet."""
    row = await store.get_child_key(tx, child_ref=child_ref)
    if row is None:
        key = new_data_key()
        wrapped = sealer.wrap(key, child_ref=child_ref)
        try:
            await store.insert_child_key(
                tx, key=ChildKey(child_ref=child_ref, wrapped=wrapped, created_at=now)
            )
            return key
        except DuplicateKeyError:
            row = await store.get_child_key(tx, child_ref=child_ref)
            if row is None:
                raise ChildKeyRace(child_ref) from None
    return sealer.unwrap(row.wrapped, child_ref=child_ref)


async def seal_report(
    tx: Writer, sealer: Sealer, *, report: Report, private: Private, now: datetime
) -> Report:
    """The report with its private part sealed under its child's key."""
    key = await data_key_for(tx, sealer, child_ref=report.child_ref, now=now)
    sealed = seal(private, data_key=key, record_id=report.id)
    return report.model_copy(update={"sealed": sealed, "seal_v": SEAL_VERSION})


async def open_report(port: Reader, sealer: Sealer, report: Report) -> Private | None:
    """The report's private part, or None once it is erased or its child's key is gone."""
    if report.sealed is None:
        return None
    row = await store.get_child_key(port, child_ref=report.child_ref)
    if row is None:
        # Erased (or a restored copy of a report whose child was erased since): unreadable.
        return None
    key = sealer.unwrap(row.wrapped, child_ref=report.child_ref)
    return unseal(report.sealed, data_key=key, record_id=report.id)


async def sealed_students(port: Reader, sealer: Sealer, *, child_ref: str) -> list[dict[str, Any]]:
    """The student details of the child's reports still sealed, oldest first (to compare a new
    report's identity with them); empty for a new or erased child."""
    row = await store.get_child_key(port, child_ref=child_ref)
    if row is None:
        return []
    key = sealer.unwrap(row.wrapped, child_ref=child_ref)
    reports = await store.reports_of_child(port, child_ref=child_ref)
    return [
        unseal(r.sealed, data_key=key, record_id=r.id)["student"]
        for r in reports
        if r.sealed is not None
    ]
