"""Demo legal-education events for `make run` (demo mode only): this spring term's campaign
at the first twelve schools, so the term plan shows which have had which topics and nine that
have had none yet."""

from __future__ import annotations

from datetime import date, timedelta

from services.school_liaison import store as school_store
from services.school_liaison.education import service
from shared.contracts.education import EducationEventCreate, Participant, ParticipantRole, Topic
from shared.identity import Principal, Role
from shared.usecases import Transactor

TERM = "2026-spring"
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
TOPICS = (Topic.anti_bullying, Topic.minors_protection_law, Topic.anti_fraud, Topic.emergency_drill)


async def seed(rt: Transactor) -> None:
    """Once per store (a restart, or a second replica, seeds nothing)."""
    if not await school_store.claim_demo_seed(rt.store, name="education"):
        return
    for n in range(1, 13):
        officer = f"officer{(n - 1) // 3 + 1}"
        people = [
            Participant(user_id=officer, role=ParticipantRole.police_officer),
            Participant(user_id="grid1", role=ParticipantRole.grid_worker),
            Participant(user_id="volunteer1", role=ParticipantRole.safety_volunteer),
        ]
        for k in range(1 + n % 2):  # some schools have had two topics
            body = EducationEventCreate(
                school_id=f"sch-{n:02d}",
                term=TERM,
                topic=TOPICS[(n + k) % len(TOPICS)],
                held_on=date(2026, 2, 23) + timedelta(days=n + 7 * k),
                participants=people,
                audience=120 + 10 * n,
            )
            await service.record(rt, caller=SUPERVISOR, body=body)
