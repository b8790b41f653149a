"""The school registry's use case: an administrator registers schools, all of a batch or none.

No event announces a new school: no other context keeps a copy of the registry (case_tracking
learns a report's school from `school.report.filed`, patrol takes school ids as given, the
gateway's accounts name them). Publish `school.registered.v1` when one needs to.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.school_liaison import store
from services.school_liaison.models import School
from shared.contracts.school import SchoolCreate
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import DuplicateKeyError
from shared.usecases import Conflict, NotAllowed, Transactor


async def register_schools(
    rt: Transactor, *, caller: Principal, schools: Sequence[SchoolCreate]
) -> list[School]:
    """Every school of `schools` in one transaction; Conflict (nothing stored) if one's id is
    taken, by the registry or by another school of the batch."""
    if caller.role is not Role.admin:
        raise NotAllowed("only an administrator registers schools")
    new = [School.model_validate(s.model_dump()) for s in schools]

    async def work(uow: UnitOfWork) -> list[School]:
        for school in new:
            if await store.get_school(uow.tx, school_id=school.id) is not None:
                raise Conflict(f"school {school.id} exists already")
            await store.insert_school(uow.tx, school=school)
        return new

    try:
        return await rt.transact(work)
    except DuplicateKeyError as exc:  # twice in the batch, or a concurrent registration
        raise Conflict("a school of this batch exists already, or is in it twice") from exc
