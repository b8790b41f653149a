"""case_tracking's persistence on the store port: cases, the child→open-case index, tasks."""

from __future__ import annotations

from services.case_tracking.domain import Case, Task
from shared.store import Reader, Store, Writer

CASES_C = "cases"
OPEN_CASE_BY_CHILD_C = "open_case_by_child"
TASKS_C = "tasks"


async def prepare(store: Store) -> None:
    await store.ensure_index(TASKS_C, ["case_id"])
    await store.ensure_index(TASKS_C, ["assignee_user_id"])
    await store.ensure_index(TASKS_C, ["assignee_org_id"])
    await store.ensure_index(TASKS_C, ["status"])
    await store.ensure_index(TASKS_C, ["child_ref"])
    await store.ensure_index(TASKS_C, ["school_id"])


async def get_case(store: Reader, *, case_id: str) -> Case | None:
    doc = await store.get(CASES_C, case_id)
    return Case.model_validate(doc) if doc else None


async def open_case_for_child(tx: Writer, *, child_ref: str) -> Case | None:
    link = await tx.get(OPEN_CASE_BY_CHILD_C, child_ref)
    return await get_case(tx, case_id=link["case_id"]) if link else None


async def save_case(tx: Writer, *, case: Case, opened: bool) -> None:
    if opened:
        # The child's id is the key: two reports racing for one child cannot open two cases.
        await tx.insert(OPEN_CASE_BY_CHILD_C, {"id": case.child_ref, "case_id": case.id})
    await tx.put(CASES_C, case.model_dump(mode="json"))


async def release_child(tx: Writer, *, case: Case) -> None:
    """The child no longer has an open case: its next report opens a new one."""
    link = await tx.get(OPEN_CASE_BY_CHILD_C, case.child_ref)
    if link is not None and link["case_id"] == case.id:
        await tx.delete(OPEN_CASE_BY_CHILD_C, case.child_ref)


async def insert_task(tx: Writer, *, task: Task) -> None:
    await tx.insert(TASKS_C, task.model_dump(mode="json"))


async def put_task(tx: Writer, *, task: Task) -> None:
    await tx.put(TASKS_C, task.model_dump(mode="json"))


async def get_task(store: Reader, *, task_id: str) -> Task | None:
    doc = await store.get(TASKS_C, task_id)
    return Task.model_validate(doc) if doc else None


async def find_tasks(store: Reader, *, where: dict[str, str], limit: int) -> list[Task]:
    docs = await store.find(TASKS_C, where=where, order_by="created_at", limit=limit)
    return [Task.model_validate(d) for d in docs]


async def open_tasks(store: Reader) -> list[Task]:
    docs = await store.find(TASKS_C, where={"status": "open"})
    return [Task.model_validate(d) for d in docs]
