"""Demo concern reports for `make run` (demo mode only): six children at six schools, so the
case flow, the ledger's six monitored children and the year's figures have cases to show
(case_tracking's demo puts them under monitoring). Seeded in the background once per store."""

from __future__ import annotations

import logging

from services.school_liaison import service
from services.school_liaison import store as school_store
from services.school_liaison.privacy import Sealer
from shared.contracts.school import ReportCategory, ReportCreate, StudentIn
from shared.identity import Principal, Role
from shared.runtime import Runtime

log = logging.getLogger("hulei.school_liaison.demo")
# (school number, category, the child's made-up name)
REPORTS = (
    (3, ReportCategory.truancy, "Dong Kai"),
    (7, ReportCategory.gambling, "Feng Lei"),
    (9, ReportCategory.bullying_perpetrator, "Hou Jun"),
    (12, ReportCategory.internet_addiction, "Li Ming"),
    (15, ReportCategory.family_problem, "Shi Tao"),
    (20, ReportCategory.bullying_perpetrator, "Xu Bo"),
)


async def seed(runtime: Runtime, *, sealer: Sealer) -> None:
    try:
        if not await school_store.claim_demo_seed(runtime.store, name="cases"):
            return
        for n, (school, category, name) in enumerate(REPORTS, start=1):
            school_id = f"sch-{school:02d}"
            teacher = Principal(user_id=f"teacher{school}", role=Role.teacher, school_id=school_id)
            body = ReportCreate(
                school_id=school_id,
                category=category,
                description="Demo report: seen repeatedly with older youths after school",
                student=StudentIn(name=name, grade=f"Grade {6 + n % 4}"),
            )
            await service.file_report(
                runtime, sealer=sealer, caller=teacher, body=body, idempotency_key=f"demo-{n}"
            )
    except Exception as exc:  # demo data missing is no reason to stop serving
        log.warning("seeding the demo reports failed: %r", exc)
