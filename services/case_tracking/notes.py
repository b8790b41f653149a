"""Outcome notes, sealed at rest: free text about a child, like a report's description.

Each case has a data key of its own, stored only wrapped under a key derived from the
service's `notes_key` (the case id as associated data); each note is sealed with it (the
task id as associated data). Notes never leave case_tracking: not in events, logs or other
services. When school_liaison erases a child (retention), the child's case keys are destroyed
and the sealed notes dropped: every copy, backups included, is unreadable.
"""

from __future__ import annotations

from datetime import datetime

from services.case_tracking import store
from services.case_tracking.domain import Case, Task
from shared.sealing import KeyWrapper, new_data_key, open_text, seal_text
from shared.store import Reader, Writer

PURPOSE = b"hulei case-notes data-key wrapping v1"


class NoteSealer:
    def __init__(self, notes_key_b64: str) -> None:
        self._wrapper = KeyWrapper(notes_key_b64, purpose=PURPOSE)

    async def seal(
        self, tx: Writer, *, case: Case, record_id: str, text: str, now: datetime
    ) -> str:
        """`text` sealed under the case's key, created in the caller's transaction if new."""
        row = await store.get_case_key(tx, case_id=case.id)
        if row is None:
            key = new_data_key()
            wrapped = self._wrapper.wrap(key, owner=case.id)
            await store.insert_case_key(
                tx, case_id=case.id, child_ref=case.child_ref, wrapped=wrapped, now=now
            )
        else:
            key = self._wrapper.unwrap(row["wrapped"], owner=case.id)
        return seal_text(text, data_key=key, record_id=record_id)

    async def open(self, port: Reader, *, task: Task) -> str | None:
        """The task's outcome note, or None: none recorded, or erased with its child."""
        return await self.open_sealed(
            port, case_id=task.case_id, record_id=task.id, sealed=task.outcome_sealed
        )

    async def open_sealed(
        self, port: Reader, *, case_id: str, record_id: str, sealed: str | None
    ) -> str | None:
        if sealed is None:
            return None
        row = await store.get_case_key(port, case_id=case_id)
        if row is None:
            return None
        key = self._wrapper.unwrap(row["wrapped"], owner=case_id)
        return open_text(sealed, data_key=key, record_id=record_id)


async def erase_child(tx: Writer, *, child_ref: str) -> int:
    """Destroy the child's case keys and drop its tasks' sealed notes; how many notes."""
    await store.delete_case_keys(tx, child_ref=child_ref)
    await store.drop_follow_up_notes(tx, child_ref=child_ref)
    await store.drop_disposition_notes(tx, child_ref=child_ref)
    return await store.drop_outcomes(tx, child_ref=child_ref)
