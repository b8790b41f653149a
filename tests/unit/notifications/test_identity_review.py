"""An identity review reaches the supervisor's desk, naming the case, never the child."""

from __future__ import annotations

import pytest

from services.notifications.domain import SUPERVISOR_DESK, notices_for_identity_flagged
from shared.contracts.cases import CaseIdentityFlagged

pytestmark = pytest.mark.unit


def test_the_supervisor_desk_is_told_which_case_and_report() -> None:
    event = CaseIdentityFlagged(case_id="case-1", report_id="rep-2", school_id="sch-10")
    (notice,) = notices_for_identity_flagged(event)
    assert (notice.recipient, notice.kind, notice.case_id) == (
        SUPERVISOR_DESK,
        "identity_review",
        "case-1",
    )
    assert SUPERVISOR_DESK == "role:supervisor"
    assert "rep-2" in notice.title
    assert "sch-10" in notice.title
    assert (notice.task_id, notice.due_at) == (None, None)
