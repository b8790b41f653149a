"""Children's data keys on the store: created with a child's first report, read to open its
reports, destroyed to erase them. The crypto itself is in privacy.py."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from services.school_liaison import store as db
from services.school_liaison.privacy import Sealer, new_data_key, seal, unseal
from shared.store import Doc, DuplicateKeyError, Reader, Writer

log = logging.getLogger("hulei.school_liaison.vault")
SEAL_VERSION = 2  # sealed with the child's data key; absent: sealed with the master key


class ChildKeyRace(Exception):
    """Another transaction created this child's key first and this one cannot see it yet:
    retry the whole unit of work, which then reads that key."""


async def data_key_for(tx: Writer, sealer: Sealer, *, child_ref: str, now: datetime) -> bytes:
    """The child's data key, created in the caller's transaction if the child has none yet."""
    row = await db.get_child_key(tx, child_ref=child_ref)
    if row is None:
        key = new_data_key()
        try:
            await db.insert_child_key(
                tx, child_ref=child_ref, wrapped=sealer.wrap(key, child_ref=child_ref), at=now
            )
            return key
        except DuplicateKeyError:
            row = await db.get_child_key(tx, child_ref=child_ref)
            if row is None:
                raise ChildKeyRace(child_ref) from None
    return sealer.unwrap(row["wrapped"], child_ref=child_ref)


async def seal_report(
    tx: Writer, sealer: Sealer, *, report: Doc, private: dict[str, Any], now: datetime
) -> Doc:
    """The report with its private part sealed under its child's key."""
    key = await data_key_for(tx, sealer, child_ref=report["child_ref"], now=now)
    return {
        **report,
        "sealed": seal(private, data_key=key, record_id=report["id"]),
        "seal_v": SEAL_VERSION,
    }


async def open_report(store: Reader, sealer: Sealer, report: Doc) -> dict[str, Any] | None:
    """The report's private part, or None once it is erased or its child's key is gone."""
    if report.get("sealed") is None:
        return None
    row = await db.get_child_key(store, child_ref=report["child_ref"])
    if row is None:
        # Erased (or a restored copy of a report whose child was erased since): unreadable.
        return None
    key = sealer.unwrap(row["wrapped"], child_ref=report["child_ref"])
    return unseal(report["sealed"], data_key=key, record_id=report["id"])


async def sealed_students(store: Reader, sealer: Sealer, *, child_ref: str) -> list[dict[str, Any]]:
    """The student details of the child's reports still sealed, oldest first (to compare a new
    report's identity with them); empty for a new or erased child."""
    row = await db.get_child_key(store, child_ref=child_ref)
    if row is None:
        return []
    key = sealer.unwrap(row["wrapped"], child_ref=child_ref)
    reports = await db.reports_of_child(store, child_ref=child_ref)
    return [
        unseal(r["sealed"], data_key=key, record_id=r["id"])["student"]
        for r in reports
        if r.get("sealed") is not None
    ]
