"""The checklists' use cases: one mechanism for schools and every venue kind (docs/schools.md):
the station's supervisor (and an admin) add items and retire them."""

from __future__ import annotations

from services.patrol.inspections import domain, store
from shared.contracts.inspections import ChecklistItem, ChecklistItemView, ChecklistKind
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import DuplicateKeyError
from shared.usecases import Conflict, NotAllowed, NotFound, Transactor

KEEPERS = (Role.supervisor, Role.admin)


def _may_keep(caller: Principal) -> None:
    if caller.role not in KEEPERS:
        raise NotAllowed("the station's supervisor keeps the checklists")


async def add_item(rt: Transactor, *, caller: Principal, item: ChecklistItem) -> ChecklistItemView:
    _may_keep(caller)

    async def work(uow: UnitOfWork) -> ChecklistItemView:
        return await store.insert_item(uow.tx, item=item)

    try:
        return await rt.transact(work)
    except DuplicateKeyError:
        raise Conflict(f"the {item.kind} checklist has {item.code} already") from None


async def retire_item(
    rt: Transactor, *, caller: Principal, kind: ChecklistKind, code: str
) -> ChecklistItemView:
    """New inspections stop asking it; past inspections and open notices keep it (a notice
    carries its item's label and is fixed and re-inspected as before)."""
    _may_keep(caller)

    async def work(uow: UnitOfWork) -> ChecklistItemView:
        item = await store.get_item(uow.tx, kind=kind, code=code)
        if item is None:
            raise NotFound(f"the {kind} checklist has no {code}")
        try:
            retired = domain.retire(item, by=caller.user_id, now=utcnow())
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        await store.put_item(uow.tx, item=retired)
        return retired

    return await rt.transact(work)
