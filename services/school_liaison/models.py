"""school_liaison's entities, as the domain and the use cases hold them. store.py alone turns
them into documents and back; the wire format (views, events) is in shared/contracts/school.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.contracts.school import ReportCategory, Severity
from shared.events import Timestamp

# A report's private part once unsealed: {"description": ..., "student": {...}}. Only ever held
# in memory; at rest it is the `sealed` blob of its report.
Private = dict[str, Any]


class School(BaseModel):
    id: str
    name: str
    district: str
    is_liaison_station: bool
    community_officer_id: str
    social_org_id: str


class Report(BaseModel):
    """A concern report: its facts in the clear, the child's details only sealed."""

    id: str
    school_id: str
    category: ReportCategory
    severity: Severity
    immediate_danger: bool
    child_ref: str
    community_officer_id: str
    social_org_id: str
    case_id: str | None = None
    filed_by: str
    filed_at: Timestamp
    sealed: str | None = None  # the private part under the child's data key; None once erased
    seal_v: int | None = None  # the format of `sealed` (vault.SEAL_VERSION)
    identity_mismatch: bool = False
    erased_at: Timestamp | None = None


class IdempotencyRecord(BaseModel):
    """The report a caller's Idempotency-Key filed; kept under (user, key) by the store."""

    report_id: str
    fingerprint: str  # keyed hash of the request body: the key reused with another body is a 409
    created_at: Timestamp


class ChildKey(BaseModel):
    """A child's data key, wrapped under the master key; destroying it erases the child.
    `identity`: who the child's reports say the child is, sealed under that key (vault.py);
    None on a row from before it was kept, or for a child with no report yet."""

    child_ref: str
    wrapped: str
    created_at: Timestamp
    identity: str | None = None


class PendingErasure(BaseModel):
    """What school_liaison knows about a child's closed cases.

    `closed_at` is None while the erasure is cancelled (a newer report); the closed case ids
    are kept, so the child's earlier reports still count as closed once a later case closes.
    """

    child_ref: str
    closed_at: Timestamp | None
    closed_case_ids: list[str]
