"""The audit trail: who looked at or changed what about which child, append-only, MAC-chained.

Each gateway instance writes its own chain (entries keyed by (chain, seq), unique), so replicas
never contend on a shared head. Each entry's MAC (HMAC-SHA256 under a key derived from
AUDIT_KEY) covers the previous entry's MAC and the entry itself: editing, removing or
re-ordering entries breaks the chain, and without the key it cannot be recomputed. The chain's
head lives in memory with its one writer; `gateway.audit_check` publishes it as signed
checkpoints and verifies the stored chains against them.

Appends are group-committed: requests queue their entries, one writer task stores everything
queued in one transaction, and each request returns once its entries are committed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from gateway.audit_keys import AuditKeys
from shared.contracts.school import ChildErased
from shared.events import Envelope, stored_time, utcnow
from shared.identity import Principal
from shared.store import Cursor, Doc, Range, Store, Writer
from shared.store.keyset import CHECK_BUDGET, find_page_checked
from shared.store.retry import transact

ENTRIES_C = "audit"
CHAINS_C = "audit_chains"
ONCE_C = "audit_once"
GENESIS = "0" * 64
MAX_BATCH = 256  # appends per transaction: bounds one commit's latency under a burst
# Each filter has an (field, at) index. Sought first when filters combine: a child's entries
# are few, an actor's fewer than an action's, an outcome other than "allowed" is rare.
LEAD = ("child_ref", "actor", "outcome", "action")
LATEST = "9999-99"  # sorts after every stored time
log = logging.getLogger("hulei.gateway.audit")


class AuditEntry(BaseModel):
    id: str
    # Empty on entries written before the keyed chains (development data): still listed, in
    # no chain, so never verified.
    chain: str = ""
    seq: int
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
    prev_mac: str = ""
    mac: str = ""


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


def _bound(moment: datetime) -> str:
    """A query bound; a time at the edge of the calendar (year 1 or 9999 with an offset)
    has no UTC equivalent and bounds nothing."""
    try:
        return stored_time(moment)
    except OverflowError:
        return "0000" if moment.year == 1 else LATEST


def entry_id(chain: str, seq: int) -> str:
    """Sorts by (chain, seq): a chain is one id range (chain names have no ':' or ';')."""
    return f"{chain}:{seq:012d}"


def seq_of(doc: Doc) -> int:
    """Where the entry's id places it in its chain."""
    return int(str(doc["id"]).rsplit(":", 1)[1])


def chain_ids(chain: str, *, from_seq: int = 0, after: str | None = None) -> Range:
    """The ids of a chain's entries, from `from_seq` or past the id `after`."""
    end = f"{chain};"
    return Range(gt=after, lt=end) if after else Range(gte=entry_id(chain, from_seq), lt=end)


async def last_entry(store: Store, chain: str) -> Doc | None:
    # By id, not (chain, seq): the primary key answers it without sorting the chain.
    docs = await store.find(
        ENTRIES_C, where={"id": chain_ids(chain)}, order_by="id", descending=True, limit=1
    )
    return docs[0] if docs else None


@dataclass
class _Pending:
    events: tuple[Event, ...]
    once_key: str | None
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class AuditLog:
    def __init__(self, store: Store, *, keys: AuditKeys, chain: str | None = None) -> None:
        self._store = store
        self.keys = keys
        self.chain = chain or secrets.token_hex(8)
        self._head: tuple[int, str] = (0, GENESIS)
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, store: Store, *, key: str, chain: str | None = None) -> AuditLog:
        log = cls(store, keys=AuditKeys.derive(key), chain=chain)
        await log.prepare()
        return log

    @property
    def store(self) -> Store:
        return self._store

    @property
    def head(self) -> tuple[int, str]:
        """(seq, MAC) of this chain's newest committed entry."""
        return self._head

    async def prepare(self) -> None:
        store = self._store
        # No (chain, seq) index: the id is `<chain>:<seq>`, so the primary key is that unique
        # key and a second writer of a chain fails on insert instead of forking it.
        for fields in (["at"], *([lead, "at"] for lead in LEAD)):
            await store.ensure_index(ENTRIES_C, fields)
        # A continued chain (a stable instance name) resumes from its stored head.
        last = await last_entry(store, self.chain)
        if last is not None:
            self._head = (seq_of(last), str(last["mac"]))
        if await store.get(CHAINS_C, self.chain) is None:
            await store.put(CHAINS_C, {"id": self.chain, "started_at": stored_time(utcnow())})

    async def append(self, *events: Event, once_key: str | None = None) -> None:
        """Returns once the entries are committed. `once_key` makes an append idempotent
        (an event that is delivered again)."""
        if not events:
            return
        if once_key and await self._store.get(ONCE_C, once_key) is not None:
            return
        pending = _Pending(events, once_key)
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name=f"audit-{self.chain}")
        # Shielded: a caller that gives up does not cancel the others' commit.
        await asyncio.shield(pending.done)

    async def close(self) -> None:
        """Let queued appends commit."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._head = await self._commit(batch)
            except Exception as exc:  # every request of the batch fails, none half-stored
                log.warning("audit append failed: %r", exc)
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(exc)
                continue
            for p in batch:
                if not p.done.done():
                    p.done.set_result(None)

    async def _commit(self, batch: list[_Pending]) -> tuple[int, str]:
        at = stored_time(utcnow())

        async def work(tx: Writer) -> tuple[int, str]:
            # From the committed head each attempt: a retried transaction starts over.
            seq, prev = self._head
            taken: set[str] = set()
            entries: list[Doc] = []
            texts: list[str] = []
            for pending in batch:
                if key := pending.once_key:
                    if key in taken or await tx.get(ONCE_C, key) is not None:
                        continue
                    taken.add(key)
                    await tx.insert(ONCE_C, {"id": key})
                docs = [
                    {
                        "id": entry_id(self.chain, seq + n),
                        "chain": self.chain,
                        "seq": seq + n,
                        "at": at,
                        **event.__dict__,
                    }
                    for n, event in enumerate(pending.events, start=1)
                ]
                seq += len(docs)
                texts += self.keys.chain(docs, prev)  # one answer's entries share most fields
                prev = docs[-1]["mac"]
                entries += docs
            # The batch's entries in one call: a page names tens of children, and a statement
            # each cost more than building and MAC-ing them.
            await tx.insert_many(ENTRIES_C, entries, texts=texts)
            return seq, prev

        # PostgreSQL: two gateways may race on the same once-key; the loser retries.
        return await transact(self._store, work)

    async def page(
        self,
        *,
        child_ref: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: Cursor | None = None,
        budget: int = CHECK_BUDGET,
    ) -> tuple[list[AuditEntry], Cursor | None]:
        """Newest first, filtered and paged in the store; the cursor of the next page, if any.

        One filter seeks its own (field, at) index. Filters combined have none (four fields,
        eleven combinations): the likeliest narrowest (`LEAD`) is sought and the others are
        checked on what it reads, at most `budget` entries a page, so a page may end short,
        even empty, with a cursor to go on from (shared/store/keyset.py)."""
        pinned = {
            k: v
            for k, v in {
                "child_ref": child_ref,
                "actor": actor,
                "action": action,
                "outcome": outcome,
            }.items()
            if v
        }
        lead = next((f for f in LEAD if f in pinned), None)
        where: dict[str, Any] = {lead: pinned.pop(lead)} if lead else {}
        if since or until:
            # Closed above even without `until`: a range of strings alone needs no type guard,
            # which PostgreSQL cannot estimate (it then plans a newest-first page as a sort).
            where["at"] = Range(
                gte=_bound(since) if since else None, lte=_bound(until) if until else LATEST
            )
        docs, cursor = await find_page_checked(
            self._store,
            ENTRIES_C,
            where=where,
            check=pinned,
            order_by="at",
            descending=True,
            limit=limit,
            after=after,
            budget=budget,
        )
        return [AuditEntry.model_validate(d) for d in docs], cursor


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
