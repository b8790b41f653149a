"""Counselling's pure rules: who keeps a school's list, what each role sees, a session's life,
and when an unrecorded session is overdue (the clock handed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.school_liaison.counselling import domain
from services.school_liaison.counselling.domain import Session
from services.school_liaison.domain import Disclosure
from services.school_liaison.models import School
from shared.contracts.counselling import CounsellorRole, SessionRecord, SessionStatus
from shared.identity import Principal, Role

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)
SCHOOL = School(
    id="sch-04", name="No. 4", district="d", is_liaison_station=True,
    community_officer_id="officer2", social_org_id="org-rainbow",
)  # fmt: skip
SESSION = Session(
    id="cns-1", entry_id="cnl-1", school_id="sch-04", social_org_id="org-rainbow",
    child_ref="child-x", counsellor_id="social1", counsellor_role=CounsellorRole.social_worker,
    place="Room 3", scheduled_at=T0,
)  # fmt: skip
RECORD = SessionRecord(state=2, note="Quiet, slept badly", attended_by=["teacher4"])


@pytest.mark.parametrize(
    ("principal", "keeps"),
    [
        (Principal(user_id="t", role=Role.teacher, school_id="sch-04"), True),
        (Principal(user_id="t", role=Role.teacher, school_id="sch-01"), False),
        (Principal(user_id="o", role=Role.police_officer, school_ids=("sch-04",)), True),
        (Principal(user_id="o", role=Role.police_officer, school_ids=("sch-01",)), False),
        (Principal(user_id="s", role=Role.social_worker, org_id="org-rainbow"), True),
        (Principal(user_id="s", role=Role.social_worker, org_id="org-harbour"), False),
        (Principal(user_id="d", role=Role.dispatcher), False),
        (Principal(user_id="g", role=Role.grid_worker, school_ids=("sch-04",)), False),
    ],
)
def test_those_who_serve_the_school_keep_its_list(principal: Principal, keeps: bool) -> None:
    assert domain.may_keep_list(principal, SCHOOL) is keeps


def test_the_desk_sees_no_student_and_no_note_social_work_no_id_number() -> None:
    student = {"name": "Chen Jing", "id_number": "1405", "grade": "8"}
    assert domain.shape_student(student, Disclosure.minimal) is None
    assert domain.shape_student(student, Disclosure.social) == {"name": "Chen Jing", "grade": "8"}
    assert domain.shape_student(student, Disclosure.full) == student
    assert not domain.sees_notes(Disclosure.minimal)
    assert domain.sees_notes(Disclosure.social)
    volunteer = Principal(user_id="v", role=Role.safety_volunteer, school_ids=("sch-04",))
    assert domain.disclosure(volunteer, school_id="sch-04", social_org_id="org-rainbow") is None


def test_a_session_is_recorded_or_missed_once() -> None:
    held = domain.record(SESSION, RECORD, by="social1", now=T0, report_id=None)
    assert (held.status, held.state, held.recorded_at) == (SessionStatus.held, 2, T0)
    with pytest.raises(domain.Refusal):
        domain.record(held, RECORD, by="social1", now=T0, report_id=None)
    with pytest.raises(domain.Refusal):
        domain.mark_missed(held, by="teacher4", now=T0)
    gone = domain.mark_missed(SESSION, by="teacher4", now=T0)
    assert gone.status is SessionStatus.missed
    with pytest.raises(domain.Refusal):
        domain.record(gone, RECORD, by="social1", now=T0, report_id=None)


def test_only_the_counsellor_records() -> None:
    assert domain.may_record(Principal(user_id="social1", role=Role.social_worker), SESSION)
    assert not domain.may_record(Principal(user_id="social9", role=Role.social_worker), SESSION)


def test_a_session_is_overdue_after_the_grace_period_and_alerted_once() -> None:
    assert not domain.overdue(SESSION, now=T0 + GRACE, grace=GRACE)  # the boundary: not yet
    assert domain.overdue(SESSION, now=T0 + GRACE + timedelta(seconds=1), grace=GRACE)
    claimed = SESSION.model_copy(update={"alerted_at": T0 + GRACE})
    assert not domain.overdue(claimed, now=T0 + 3 * GRACE, grace=GRACE)
    held = domain.record(SESSION, RECORD, by="social1", now=T0, report_id=None)
    assert not domain.overdue(held, now=T0 + 3 * GRACE, grace=GRACE)
