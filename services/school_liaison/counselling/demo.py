"""Demo counselling list for `make run` (demo mode only): a dozen students at the liaison
school, each with a few weeks of sessions, so the state over time has something to show."""

from __future__ import annotations

from datetime import timedelta

from services.school_liaison import store as school_store
from services.school_liaison.counselling import service, sessions
from services.school_liaison.demo import LIAISON_SCHOOL
from services.school_liaison.privacy import Sealer
from shared.contracts.counselling import (
    CounsellingEntryCreate,
    CounsellingReason,
    CounsellorRole,
    CounsellorScope,
    SessionRecord,
    SessionSchedule,
)
from shared.contracts.school import StudentIn
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.usecases import Transactor

STAFF = Principal(user_id="teacher4", role=Role.teacher, school_id=LIAISON_SCHOOL)
COUNSELLOR = Principal(user_id="social1", role=Role.social_worker, org_id="org-rainbow")
# social1's account as the gateway's directory holds it (gateway/demo.py).
SCOPE = CounsellorScope(role=CounsellorRole.social_worker, org_id="org-rainbow")
NAMES = (
    "An Qi",
    "Bai Yu",
    "Cao Lin",
    "Deng Hao",
    "Fan Jie",
    "Guo Xin",
    "Han Mei",
    "Jia Rui",
    "Kong Wen",
    "Lu Yang",
    "Ma Ning",
    "Qin Shu",
)
REASONS = tuple(CounsellingReason)[:4]


async def seed(rt: Transactor, *, sealer: Sealer) -> None:
    """Once per store (a restart, or a second replica, seeds nothing)."""
    if not await school_store.claim_demo_seed(rt.store, name="counselling"):
        return
    start = utcnow() - timedelta(weeks=4)
    for n, name in enumerate(NAMES):
        body = CounsellingEntryCreate(
            school_id=LIAISON_SCHOOL,
            reason=REASONS[n % len(REASONS)],
            student=StudentIn(name=name, grade=f"Grade {7 + n % 3}"),
        )
        entry, _ = await service.add_entry(rt, sealer=sealer, caller=STAFF, body=body)
        for week in range(3):
            when = start + timedelta(weeks=week, days=n % 5)
            slot = SessionSchedule(
                scheduled_at=when,
                counsellor_id=COUNSELLOR.user_id,
                counsellor_role=CounsellorRole.social_worker,
                place="Counselling room, block B",
            )
            session = await sessions.schedule(
                rt, caller=STAFF, entry_id=entry.id, body=slot, counsellor=SCOPE
            )
            state = min(5, 2 + week + n % 2)  # most students settle over the weeks
            record = SessionRecord(state=state, note=f"Week {week + 1}: talked about school")
            await sessions.record(
                rt, sealer=sealer, caller=COUNSELLOR, session_id=session.id, body=record
            )
