"""A concern report as school_liaison stores it, for tests that need one in a given state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.school_liaison.models import Report
from shared.contracts.school import ReportCategory, Severity


def a_report(*, child_ref: str, filed_at: datetime, **changes: Any) -> Report:
    """A medium truancy report about `child_ref`; `changes` sets any other field."""
    fields: dict[str, Any] = {
        "id": "rep-1",
        "school_id": "sch-01",
        "category": ReportCategory.truancy,
        "severity": Severity.medium,
        "immediate_danger": False,
        "community_officer_id": "officer1",
        "social_org_id": "org-rainbow",
        "filed_by": "teacher1",
    }
    return Report(**(fields | changes), child_ref=child_ref, filed_at=filed_at)
