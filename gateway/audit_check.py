"""Checkpoints of the audit chains and the check of the stored chains against them.

Every `audit_checkpoint_s` each gateway instance publishes its chain's head (entry count and
newest MAC), signed, to the AUDIT stream, which refuses deletes and purges. `verify` then
finds, per chain, where the stored entries stop agreeing:

- `missing`: an entry is gone from the middle (the sequence has a gap);
- `altered`: an entry's MAC does not recompute, or no longer links to its predecessor, or the
  entry a checkpoint names carries another MAC;
- `truncated`: the newest entries are gone (the chain ends before its checkpoint or live head);
- `forged`: a checkpoint whose signature does not verify.

Incremental (the default) checks each chain from its newest checkpoint on, a cost independent
of the trail's size; `full` recomputes every chain from its first entry. docs/audit.md says
what each proves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import nats.js.errors
from nats.js import JetStreamContext
from pydantic import BaseModel

from gateway.audit import (
    CHAINS_C,
    ENTRIES_C,
    GENESIS,
    AuditLog,
    chain_ids,
    last_entry,
    seq_of,
)
from gateway.audit_keys import AuditKeys
from shared.bus import Bus
from shared.contracts.audit import CHECKPOINT_SUBJECTS, AuditCheckpointed
from shared.events import Envelope, stored_time, utcnow
from shared.store import Doc, Store

STREAM = "AUDIT"
PAGE = 2000
FINAL_CHECKPOINT_S = 3.0
log = logging.getLogger("hulei.gateway.audit")


class Problem(BaseModel):
    seq: int
    kind: Literal["missing", "altered", "truncated", "forged"]
    detail: str


class ChainStatus(BaseModel):
    chain: str
    checkpoint_seq: int | None  # the newest checkpoint (or this instance's live head)
    last_seq: int  # the newest entry the walk reached (it stops at the first problem)
    checked: int  # entries whose MAC was recomputed
    problem: Problem | None


class VerifyResult(BaseModel):
    ok: bool
    full: bool
    chains: list[ChainStatus]


def signed_checkpoint(audit: AuditLog) -> AuditCheckpointed:
    seq, mac = audit.head
    at = utcnow()
    signature = audit.keys.sign(audit.chain, seq, mac, stored_time(at))
    return AuditCheckpointed(chain=audit.chain, seq=seq, mac=mac, at=at, signature=signature)


def signature_ok(keys: AuditKeys, cp: AuditCheckpointed) -> bool:
    expected = keys.sign(cp.chain, cp.seq, cp.mac, stored_time(cp.at))
    return expected == cp.signature


class Checkpointer:
    """Publishes this instance's chain head whenever it moved, every `every_s` and at stop."""

    def __init__(self, audit: AuditLog, bus: Bus, *, every_s: float) -> None:
        self._audit = audit
        self._bus = bus
        self._every_s = every_s
        self._published: tuple[int, str] = (0, GENESIS)

    async def publish_now(self) -> AuditCheckpointed | None:
        if self._audit.head == self._published:
            return None
        cp = signed_checkpoint(self._audit)
        envelope = Envelope.wrap(
            cp, source="gateway", subject=cp.chain, correlation_id=f"audit-{cp.chain}"
        )
        await self._bus.publish(envelope, subject=AuditCheckpointed.subject_for(cp.chain))
        self._published = (cp.seq, cp.mac)
        return cp

    async def run(self) -> None:
        """The app's background task: a checkpoint every `every_s` while running, and one last
        when cancelled at shutdown (before the bus closes)."""
        try:
            while True:
                await asyncio.sleep(self._every_s)  # the checkpoint period itself
                try:
                    await self.publish_now()
                except Exception as exc:  # NATS away: the next tick tries again
                    log.warning("audit checkpoint not published: %r", exc)
        finally:
            # The chain's last word, but a NATS that is away must not hold up the shutdown.
            try:
                async with asyncio.timeout(FINAL_CHECKPOINT_S):
                    await self.publish_now()
            except Exception as exc:
                log.warning("final audit checkpoint not published: %r", exc)


async def read_checkpoints(js: JetStreamContext) -> dict[str, AuditCheckpointed]:
    """The newest checkpoint of every chain that ever published one."""
    try:
        info = await js.stream_info(STREAM, subjects_filter=CHECKPOINT_SUBJECTS)
    except nats.js.errors.NotFoundError:
        return {}
    found: dict[str, AuditCheckpointed] = {}
    for subject in info.state.subjects or {}:
        msg = await js.get_last_msg(STREAM, subject)
        cp = Envelope.model_validate_json(msg.data or b"").parse(AuditCheckpointed)
        found[cp.chain] = cp
    return found


async def verify(audit: AuditLog, *, js: JetStreamContext, full: bool = False) -> VerifyResult:
    checkpoints = await read_checkpoints(js)
    store = audit.store
    chains = {str(d["id"]) for d in await store.find(CHAINS_C)} | set(checkpoints)
    statuses = []
    for chain in sorted(chains):
        # Where the chain must pass, with which MAC: its newest checkpoint and, for the chain
        # this instance writes, its live head (newer, and unknown to the store's editor).
        marks: dict[int, str] = {}
        problem: Problem | None = None
        cp = checkpoints.get(chain)
        if cp is not None and signature_ok(audit.keys, cp):
            marks[cp.seq] = cp.mac
        elif cp is not None:
            problem = Problem(seq=cp.seq, kind="forged", detail="checkpoint signature invalid")
        if chain == audit.chain and audit.head[0]:
            marks[audit.head[0]] = audit.head[1]
        checker = _Chain(store, audit.keys, chain)
        found = await checker.check(marks, full=full)
        statuses.append(
            ChainStatus(
                chain=chain,
                checkpoint_seq=max(marks, default=None),
                last_seq=checker.last_seq,
                checked=checker.checked,
                problem=problem or found,
            )
        )
    return VerifyResult(ok=all(s.problem is None for s in statuses), full=full, chains=statuses)


class _Chain:
    def __init__(self, store: Store, keys: AuditKeys, chain: str) -> None:
        self._store = store
        self._keys = keys
        self._chain = chain
        self.checked = 0
        self.last_seq = 0

    async def check(self, marks: dict[int, str], *, full: bool) -> Problem | None:
        """Walk from the oldest mark (`full` or none: from the first entry) to the end."""
        start = 1 if full or not marks else min(marks)
        problem = await self._walk(start, GENESIS if start == 1 else None, marks)
        if problem is not None:
            return problem
        if self.last_seq == 0 and start > 1:
            # Nothing from the mark on: where does the chain end now?
            last = await last_entry(self._store, self._chain)
            self.last_seq = seq_of(last) if last else 0
        reach = max(marks, default=0)
        if self.last_seq < reach:
            return Problem(
                seq=self.last_seq + 1,
                kind="truncated",
                detail=f"the chain ends at {self.last_seq}; it was checkpointed at {reach}",
            )
        return None

    async def _entries(self, *, from_seq: int, after: str | None) -> list[Doc]:
        return await self._store.find(
            ENTRIES_C,
            where={"id": chain_ids(self._chain, from_seq=from_seq, after=after)},
            order_by="id",
            limit=PAGE,
        )

    async def _walk(self, start: int, prev: str | None, marks: dict[int, str]) -> Problem | None:
        """Recompute from `start` to the end. `prev` None: the first entry's link is taken as
        stored; it is a mark, so its own MAC must be the one the mark recorded."""
        expected, after = start, None
        while page := await self._entries(from_seq=start, after=after):
            for doc in page:
                seq = seq_of(doc)  # where its id puts it; the MAC covers `seq` and `chain`
                if seq != expected:
                    missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
                    return Problem(seq=expected, kind="missing", detail=f"entries {missing} absent")
                if prev is not None and doc.get("prev_mac") != prev:
                    return Problem(
                        seq=seq, kind="altered", detail="does not link to its predecessor"
                    )
                if self._keys.entry_mac(doc) != doc.get("mac"):
                    return Problem(seq=seq, kind="altered", detail="MAC does not recompute")
                if seq in marks and doc["mac"] != marks[seq]:
                    return Problem(seq=seq, kind="altered", detail="differs from its checkpoint")
                prev = str(doc["mac"])
                self.checked += 1
                self.last_seq = seq
                expected += 1
            after = str(page[-1]["id"])
        return None
