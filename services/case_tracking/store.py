"""case_tracking's persistence on the store port: cases (one open case per child, by a partial
unique index) and tasks."""

from __future__ import annotations

from datetime import datetime

from services.case_tracking.domain import UNFINISHED, URGENT, Case, Task
from services.case_tracking.ledger import LedgerEntry
from shared.contracts.cases import ChronologyEntry
from shared.events import stored_time
from shared.store import Cursor, Doc, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration
from shared.store.retry import transact

CASES_C = "cases"
TASKS_C = "tasks"
DISPOSITIONS_C = "dispositions"  # outcomes recorded on cases (outcomes.py)
LEDGER_C = "ledger"  # monitored cases (ledger.py), one per case
CASE_KEYS_C = "case_keys"  # each case's wrapped data key for its sealed notes (notes.py)
CHRONOLOGY_C = "case_chronology"  # each case's chronology, a row per entry, appended only
UNFINISHED_VALUES = sorted(s.value for s in UNFINISHED)
_OLD_OPEN_CASE_BY_CHILD_C = "open_case_by_child"  # before v2: the child's id as a lock document


async def _task_indexes_v1(port: Store) -> None:
    # (field, created_at): the task lists filter on one of these and page by creation time.
    for field in ("case_id", "assignee_user_id", "assignee_org_id", "child_ref"):
        await port.ensure_index(TASKS_C, [field, "created_at"])
    await port.ensure_index(TASKS_C, ["status", "due_at"])


async def _task_school_index_v3(port: Store) -> None:
    # School staff read a case's tasks from their own school only.
    await port.ensure_index(TASKS_C, ["school_id", "created_at"])


async def _one_open_case_per_child_v2(port: Store) -> None:
    """Replaces the open_case_by_child documents: two reports racing for one child cannot
    open two cases, and closing a case frees the child without a second write."""
    await port.ensure_index(CASES_C, ["child_ref"], unique=True, where={"status": "open"})
    for link in await port.find(_OLD_OPEN_CASE_BY_CHILD_C):
        await port.delete(_OLD_OPEN_CASE_BY_CHILD_C, link["id"])


async def _task_pages_v4(port: Store) -> None:
    # Every task list is a range of one of these, in created_at order: the desk's (all, or by
    # status), and each scope's by status (without a status a scope uses its v1/v3 index).
    await port.ensure_index(TASKS_C, ["created_at"])
    await port.ensure_index(TASKS_C, ["status", "created_at"])
    for scope in ("assignee_user_id", "assignee_org_id", "school_id"):
        await port.ensure_index(TASKS_C, [scope, "status", "created_at"])


async def _case_keys_v5(port: Store) -> None:
    # Retention erases a child's case keys by the child.
    await port.ensure_index(CASE_KEYS_C, ["child_ref"])


async def _ledger_v6(port: Store) -> None:
    # The ledger is read soonest due first: the desk's whole, an officer's schools, an org's.
    await port.ensure_index(LEDGER_C, ["next_due_at"])
    await port.ensure_index(LEDGER_C, ["school_id", "next_due_at"])
    await port.ensure_index(LEDGER_C, ["org_id", "next_due_at"])
    await port.ensure_index(LEDGER_C, ["child_ref"])


async def _dispositions_v7(port: Store) -> None:
    await port.ensure_index(DISPOSITIONS_C, ["kind"])  # counted by kind
    await port.ensure_index(DISPOSITIONS_C, ["child_ref"])  # erased with the child


async def _chronology_rows_v8(port: Store) -> None:
    """Each case's chronology moves from its document into rows, the document keeping their
    count. Safe to run again: a page's cases and their rows are written in one transaction,
    and a moved case has `chronology_len`, which the pages ask to be missing."""
    await port.ensure_index(CHRONOLOGY_C, ["case_id", "seq"])
    after: Cursor | None = None

    async def page(tx: Writer) -> Cursor | None:
        docs, next_ = await find_page(
            tx, CASES_C, where={"chronology_len": None}, order_by="id", limit=200, after=after
        )
        for doc in docs:
            entries = doc.pop("chronology", [])
            await tx.put(CASES_C, {**doc, "chronology_len": len(entries)})
            if entries:
                rows = [chronology_row(doc["id"], seq, e) for seq, e in enumerate(entries)]
                await tx.insert_many(CHRONOLOGY_C, rows)
        return next_

    while (after := await transact(port, page)) is not None:
        pass


MIGRATIONS = [
    Migration(1, "tasks by case, assignee, child and open status", _task_indexes_v1),
    Migration(2, "one open case per child: partial unique index", _one_open_case_per_child_v2),
    Migration(3, "tasks by school", _task_school_index_v3),
    Migration(
        4, "task lists page through an index: all, by status, by scope and status", _task_pages_v4
    ),
    Migration(5, "case keys by child, for erasure", _case_keys_v5),
    Migration(6, "the ledger by next due date, within each scope", _ledger_v6),
    Migration(7, "dispositions by kind and by child", _dispositions_v7),
    Migration(8, "case chronologies as rows, by case in order", _chronology_rows_v8),
]


async def get_case(port: Reader, *, case_id: str) -> Case | None:
    """The case for a change: its chronology not read (see `Case`)."""
    doc = await port.get(CASES_C, case_id)
    return Case.model_validate(doc) if doc else None


async def chronology_page(
    port: Reader, *, case_id: str, limit: int, after: Cursor | None = None
) -> tuple[list[ChronologyEntry], Cursor | None]:
    """A page of the case's chronology, oldest first (a range of its [case_id, seq] index),
    and the next page's cursor, if there is one."""
    docs, cursor = await find_page(
        port, CHRONOLOGY_C, where={"case_id": case_id}, order_by="seq", limit=limit, after=after
    )
    return [ChronologyEntry.model_validate(d) for d in docs], cursor


async def with_chronology(port: Reader, *, case: Case, limit: int) -> tuple[Case, Cursor | None]:
    """The case as stored, to be shown: with its chronology's first `limit` entries, and the
    cursor of the entries after them (None: that is all of it)."""
    chronology, cursor = await chronology_page(port, case_id=case.id, limit=limit)
    return case.model_copy(update={"chronology": chronology, "chronology_len": 0}), cursor


async def open_case_for_child(tx: Writer, *, child_ref: str) -> Case | None:
    docs = await tx.find(CASES_C, where={"child_ref": child_ref, "status": "open"}, limit=1)
    return Case.model_validate(docs[0]) if docs else None


async def save_case(tx: Writer, *, case: Case, opened: bool) -> None:
    """The document without the chronology, and `case.chronology` (a loaded case's: the
    entries the change added) appended as rows after the `chronology_len` stored ones: the
    work is the same however long the history. The document is written first: two changes
    racing on one case conflict on it before their rows' ids collide.
    `opened`: a new case, refused (DuplicateKeyError) when its child already has an open
    one; the consumer's redelivery then finds that case and joins it."""
    first = case.chronology_len
    doc = case.model_dump(mode="json", exclude={"chronology"})
    doc["chronology_len"] = first + len(case.chronology)
    await (tx.insert(CASES_C, doc) if opened else tx.put(CASES_C, doc))
    if case.chronology:
        rows = [
            chronology_row(case.id, first + n, e.model_dump(mode="json"))
            for n, e in enumerate(case.chronology)
        ]
        await tx.insert_many(CHRONOLOGY_C, rows)


def chronology_row(case_id: str, seq: int, entry: Doc) -> Doc:
    """The stored row of a case's `seq`-th chronology entry (`entry` as JSON)."""
    # The id orders a case's rows too: the zero-padded seq sorts as a number would.
    return {"id": f"{case_id}:{seq:08d}", "case_id": case_id, "seq": seq, **entry}


async def insert_task(tx: Writer, *, task: Task) -> None:
    await tx.insert(TASKS_C, task.model_dump(mode="json"))


async def put_task(tx: Writer, *, task: Task) -> None:
    await tx.put(TASKS_C, task.model_dump(mode="json"))


async def get_task(port: Reader, *, task_id: str) -> Task | None:
    doc = await port.get(TASKS_C, task_id)
    return Task.model_validate(doc) if doc else None


async def find_tasks(
    port: Reader, *, where: dict[str, str], limit: int, after: Cursor | None = None
) -> tuple[list[Task], Cursor | None]:
    """Oldest first; the next page's cursor, if there is one."""
    docs, cursor = await find_page(
        port, TASKS_C, where=where, order_by="created_at", limit=limit, after=after
    )
    return [Task.model_validate(d) for d in docs], cursor


async def case_tasks(
    port: Reader, *, case_id: str, where: dict[str, str], limit: int, after: Cursor | None = None
) -> tuple[list[Task], Cursor | None]:
    """A case's tasks matching `where` (top-level fields), oldest first, and the next page's
    cursor. Read by the case's own index and filtered here: a case has a few tasks, and with a
    second equality in the query SQLite may pick that field's far larger index instead."""
    kept: list[Doc] = []
    cursor = after
    while len(kept) <= limit:
        docs, cursor = await find_page(
            port, TASKS_C, where={"case_id": case_id}, order_by="created_at",
            limit=limit + 1, after=cursor,
        )  # fmt: skip
        kept += [d for d in docs if all(d.get(k) == v for k, v in where.items())]
        if cursor is None:
            break
    more = len(kept) > limit
    kept = kept[:limit]
    next_page = Cursor.of(kept[-1], "created_at") if more else None
    return [Task.model_validate(d) for d in kept], next_page


async def task_load(port: Reader, *, now: datetime) -> tuple[int, int]:
    """(open urgent tasks, open overdue tasks), counted by the store, not loaded."""
    urgent = await port.count(
        TASKS_C, where={"status": "open", "risk_level": [s.value for s in URGENT]}
    )
    due = stored_time(now)
    overdue = await port.count(TASKS_C, where={"status": "open", "due_at": Range(lt=due)})
    return urgent, overdue


async def get_case_key(port: Reader, *, case_id: str) -> Doc | None:
    return await port.get(CASE_KEYS_C, case_id)


async def insert_case_key(
    tx: Writer, *, case_id: str, child_ref: str, wrapped: str, now: datetime
) -> None:
    doc = {"id": case_id, "child_ref": child_ref, "wrapped": wrapped, "at": stored_time(now)}
    await tx.insert(CASE_KEYS_C, doc)


async def delete_case_keys(tx: Writer, *, child_ref: str) -> None:
    for doc in await tx.find(CASE_KEYS_C, where={"child_ref": child_ref}):
        await tx.delete(CASE_KEYS_C, doc["id"])


async def drop_outcomes(tx: Writer, *, child_ref: str) -> int:
    """Every sealed outcome note of the child's tasks removed; how many."""
    dropped = 0
    for doc in await tx.find(TASKS_C, where={"child_ref": child_ref}):
        if doc.get("outcome_sealed") is not None:
            await tx.put(TASKS_C, {**doc, "outcome_sealed": None})
            dropped += 1
    return dropped


async def unfinished_tasks(port: Reader, *, case_id: str) -> list[Task]:
    """The case's tasks not yet done, declined or cancelled (a case has a few)."""
    docs = await port.find(TASKS_C, where={"case_id": case_id, "status": list(UNFINISHED_VALUES)})
    return [Task.model_validate(d) for d in docs]


async def get_ledger_entry(port: Reader, *, case_id: str) -> LedgerEntry | None:
    doc = await port.get(LEDGER_C, case_id)
    return LedgerEntry.model_validate(doc) if doc else None


async def put_ledger_entry(tx: Writer, *, entry: LedgerEntry) -> None:
    await tx.put(LEDGER_C, entry.model_dump(mode="json"))


async def ledger_page(
    port: Reader, *, where: dict[str, object], limit: int, after: Cursor | None = None
) -> tuple[list[LedgerEntry], Cursor | None]:
    """Monitored cases, soonest due first; the next page's cursor, if any."""
    docs, cursor = await find_page(
        port, LEDGER_C, where=where, order_by="next_due_at", limit=limit, after=after
    )
    return [LedgerEntry.model_validate(d) for d in docs], cursor


async def drop_follow_up_notes(tx: Writer, *, child_ref: str) -> None:
    for doc in await tx.find(LEDGER_C, where={"child_ref": child_ref}):
        kept = [{**f, "outcome_sealed": None} for f in doc.get("follow_ups", [])]
        await tx.put(LEDGER_C, {**doc, "follow_ups": kept})


async def insert_disposition(tx: Writer, *, doc: Doc) -> None:
    await tx.insert(DISPOSITIONS_C, doc)


async def count_dispositions(port: Reader, *, kind: str) -> int:
    return await port.count(DISPOSITIONS_C, where={"kind": kind})


async def drop_disposition_notes(tx: Writer, *, child_ref: str) -> None:
    for doc in await tx.find(DISPOSITIONS_C, where={"child_ref": child_ref}):
        await tx.put(DISPOSITIONS_C, {**doc, "note_sealed": None})
