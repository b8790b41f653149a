"""The audit trail: who looked at or changed what about which child, append-only, hash-chained.

Each entry's hash covers the previous entry's hash and the entry itself, so editing or
deleting a stored entry breaks the chain at that point; `verify` finds where.
Appends are serialised by the store transaction that also moves the chain head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.contracts.school import ChildErased
from shared.events import Envelope, new_id, utcnow
from shared.identity import Principal
from shared.store import Doc, Store

ENTRIES_C = "audit"
HEAD_C = "audit_head"
ONCE_C = "audit_once"
GENESIS = "0" * 64


class AuditEntry(BaseModel):
    seq: int
    id: str
    at: datetime
    actor: str
    role: str | None
    agency: str | None
    action: str  # read | create | update | export | login | permission_change | erase
    object_type: str
    object_id: str | None
    child_ref: str | None
    purpose: str | None
    outcome: str  # allowed | denied | not_found | failed | error
    status: int | None
    trace_id: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Event:
    """What happened, before the log gives it a place in the chain."""

    actor: str
    action: str
    object_type: str
    object_id: str | None = None
    child_ref: str | None = None
    role: str | None = None
    agency: str | None = None
    purpose: str | None = None
    outcome: str = "allowed"
    status: int | None = None
    trace_id: str | None = None

    @classmethod
    def by(cls, principal: Principal, **fields: Any) -> Event:
        return cls(
            actor=principal.user_id,
            role=principal.role.value,
            agency=agency_of(principal),
            **fields,
        )


def agency_of(principal: Principal) -> str:
    if principal.school_id:
        return f"school:{principal.school_id}"
    if principal.org_id:
        return f"org:{principal.org_id}"
    return "police-station"


def outcome_of(status: int) -> str:
    if status < 400:
        return "allowed"
    if status in (401, 403, 429):
        return "denied"
    if status == 404:
        return "not_found"
    return "failed" if status < 500 else "error"


def _digest(prev_hash: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _body(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("hash",)}


class AuditLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def prepare(self) -> None:
        await self._store.ensure_index(ENTRIES_C, ["seq"])
        await self._store.ensure_index(ENTRIES_C, ["child_ref"])
        await self._store.ensure_index(ENTRIES_C, ["actor"])

    async def append(self, *events: Event, once_key: str | None = None) -> None:
        """`once_key` makes an append idempotent (an event that is delivered again)."""
        if not events:
            return
        if once_key and await self._store.get(ONCE_C, once_key) is not None:
            return
        async with self._store.transaction() as tx:
            if once_key:
                await tx.insert(ONCE_C, {"id": once_key})
            head = await tx.get(HEAD_C, "head") or {"id": "head", "seq": 0, "hash": GENESIS}
            seq, prev = int(head["seq"]), str(head["hash"])
            at = utcnow().isoformat()
            for event in events:
                seq += 1
                body = {
                    "seq": seq,
                    "id": new_id(),
                    "at": at,
                    **event.__dict__,
                    "prev_hash": prev,
                }
                prev = _digest(prev, body)
                await tx.insert(ENTRIES_C, {**body, "hash": prev})
            await tx.put(HEAD_C, {"id": "head", "seq": seq, "hash": prev})

    async def query(
        self,
        *,
        child_ref: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        where = {k: v for k, v in {"child_ref": child_ref, "actor": actor}.items() if v}
        docs = await self._store.find(ENTRIES_C, where=where, order_by="seq", descending=True)
        entries = [AuditEntry.model_validate(d) for d in docs]
        entries = [
            e
            for e in entries
            if (since is None or e.at >= since) and (until is None or e.at <= until)
        ]
        return entries[:limit]

    async def verify(self) -> VerifyResult:
        """Recompute the chain from the first entry; report the first place it breaks."""
        docs = await self._store.find(ENTRIES_C, order_by="seq")
        prev = GENESIS
        for expected_seq, doc in enumerate(docs, start=1):
            if doc.get("seq") != expected_seq or doc.get("prev_hash") != prev:
                return VerifyResult(ok=False, entries=len(docs), broken_at=expected_seq)
            if _digest(prev, _body(doc)) != doc.get("hash"):
                return VerifyResult(ok=False, entries=len(docs), broken_at=expected_seq)
            prev = doc["hash"]
        head = await self._store.get(HEAD_C, "head")
        if docs and (head is None or head.get("hash") != prev):
            # The newest entries were removed: the head remembers where the chain ended.
            return VerifyResult(ok=False, entries=len(docs), broken_at=len(docs) + 1)
        return VerifyResult(ok=True, entries=len(docs), broken_at=None)


class VerifyResult(BaseModel):
    ok: bool
    entries: int
    broken_at: int | None


def record_erasure(log: AuditLog) -> Callable[[Envelope], Awaitable[bool]]:
    """Retention erased a child's details in school_liaison: the trail must say so."""

    async def handle(envelope: Envelope) -> bool:
        erased = envelope.parse(ChildErased)
        await log.append(
            Event(
                actor="system:retention",
                action="erase",
                object_type="child",
                child_ref=erased.child_ref,
                purpose=f"retention period over; {erased.reports_erased} report(s) erased",
            ),
            once_key=f"erased:{envelope.id}",
        )
        return True

    return handle
