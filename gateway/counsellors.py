"""A counselling session's counsellor, checked against the identity directory (the gateway's
accounts), as a task's reassignment checks its assignee (docs/tasks.md): the account must be
active and an officer or a social worker; school_liaison then checks it serves the school
(the beat, the organisation) from the scope passed on here."""

from __future__ import annotations

from fastapi import HTTPException

from gateway import store
from shared.contracts.counselling import CheckedSchedule, CounsellorRole, SessionSchedule
from shared.errors import client_error
from shared.store import Reader


def _unknown(field: str, message: str) -> HTTPException:
    return HTTPException(422, [client_error(["body", field], message, "value_error")])


async def checked(directory: Reader, body: SessionSchedule) -> CheckedSchedule:
    """The session with its counsellor's scope; a 422 naming the field if no such counsellor."""
    account = await store.get_user(directory, username=body.counsellor_id)
    roles = {r.value for r in CounsellorRole}
    if account is None or not account.get("active") or account.get("role") not in roles:
        raise _unknown("counsellor_id", "no active police officer or social worker by that name")
    scope = {
        "role": account["role"],
        "school_ids": list(account.get("school_ids") or []),
        "org_id": account.get("org_id"),
    }
    return CheckedSchedule.model_validate(body.model_dump() | {"counsellor": scope})
