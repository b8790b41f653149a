"""Children's data keys on the store: created with a child's first report, read to open its
reports, destroyed to erase them. The crypto itself is in privacy.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.school_liaison import domain, store
from services.school_liaison.models import ChildKey, Private, Report
from services.school_liaison.privacy import Sealer, new_data_key, seal, unseal
from shared.store import DuplicateKeyError, Reader, Writer

SEAL_VERSION = 2  # `sealed` is the private part under the child's own data key


class ChildKeyRace(Exception):
    """Another transaction created this child's key first and this one cannot see it yet:
    retry the whole unit of work, which then reads that key."""


async def data_key_for(tx: Writer, sealer: Sealer, *, child_ref: str, now: datetime) -> bytes:
    """The child's data key, created in the caller's transaction if the child has none yet."""
    key, _row, _created = await _child_key(tx, sealer, child_ref=child_ref, now=now)
    return key


async def _child_key(
    tx: Writer,
    sealer: Sealer,
    *,
    child_ref: str,
    now: datetime,
    first: Mapping[str, Any] | None = None,
) -> tuple[bytes, ChildKey, bool]:
    """The child's data key, its row, and whether this transaction created it. `first`: the
    student of the report that creates it, whose identity the new row keeps from the start."""
    row = await store.get_child_key(tx, child_ref=child_ref)
    if row is None:
        key = new_data_key()
        row = ChildKey(
            child_ref=child_ref, wrapped=sealer.wrap(key, child_ref=child_ref), created_at=now
        )
        if first is not None:
            row.identity = _sealed_identity(domain.learned_identity(None, first), key, row)
        try:
            await store.insert_child_key(tx, key=row)
            return key, row, True
        except DuplicateKeyError:
            row = await store.get_child_key(tx, child_ref=child_ref)
            if row is None:
                raise ChildKeyRace(child_ref) from None
    return sealer.unwrap(row.wrapped, child_ref=child_ref), row, False


async def seal_report(
    tx: Writer, sealer: Sealer, *, report: Report, private: Private, now: datetime
) -> Report:
    """The report with its private part sealed under its child's key, and `identity_mismatch`
    set when its student is not who the child's earlier reports say (domain.identity_differs).

    Who they say is kept on the child's key row, sealed under the same key, so a filing reads
    one row however many reports the child has (and erasing the key erases it too), and writes
    it only when the identity changes: the child's first report, the first date of birth. A
    row from before it was kept reads the child's reports once, and keeps the answer."""
    student = private["student"]
    key, row, created = await _child_key(
        tx, sealer, child_ref=report.child_ref, now=now, first=student
    )
    known = None
    if not created:  # a new row was written with the first student's identity already
        known = await _known_identity(tx, row=row, key=key)
        learned = domain.learned_identity(known, student)
        if learned != known or row.identity is None:
            identity = _sealed_identity(learned, key, row)
            await store.put_child_key(tx, key=row.model_copy(update={"identity": identity}))
    return report.model_copy(
        update={
            "sealed": seal(private, data_key=key, record_id=report.id),
            "seal_v": SEAL_VERSION,
            "identity_mismatch": domain.identity_differs(known, student),
        }
    )


def _sealed_identity(identity: domain.SealedIdentity, key: bytes, row: ChildKey) -> str:
    return seal(identity.model_dump(), data_key=key, record_id=_identity_id(row))


def _identity_id(row: ChildKey) -> str:
    """The identity's associated data: its blob cannot pass for a report's, or another child's."""
    return f"identity:{row.child_ref}"


async def _known_identity(
    port: Reader, *, row: ChildKey, key: bytes
) -> domain.SealedIdentity | None:
    if row.identity is not None:
        held = unseal(row.identity, data_key=key, record_id=_identity_id(row))
        return domain.SealedIdentity.model_validate(held)
    return domain.sealed_identity(await _students(port, key=key, child_ref=row.child_ref))


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
    """The student details of the child's reports still sealed, oldest first; empty for a new
    or erased child."""
    row = await store.get_child_key(port, child_ref=child_ref)
    if row is None:
        return []
    return await _students(
        port, key=sealer.unwrap(row.wrapped, child_ref=child_ref), child_ref=child_ref
    )


async def _students(port: Reader, *, key: bytes, child_ref: str) -> list[dict[str, Any]]:
    reports = await store.reports_of_child(port, child_ref=child_ref)
    return [
        unseal(r.sealed, data_key=key, record_id=r.id)["student"]
        for r in reports
        if r.sealed is not None
    ]
