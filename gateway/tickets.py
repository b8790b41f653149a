"""Single-use stream tickets: how a browser opens `GET /v1/stream` without a token in the URL.

`EventSource` cannot send an `Authorization` header. The page asks for a ticket with its token
(`POST /v1/stream/tickets`) and puts the ticket in the stream's URL: it names nobody, works
once, within `stream_ticket_s` (≤ 30 s), and only for the account that asked while that account
is unchanged. Tickets live in the gateway's store, so any replica redeems any replica's ticket,
and only one redemption of a ticket can commit.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from fastapi import HTTPException, Request

from gateway.auth import UNAUTHORIZED, Session, still_active
from shared.identity import Principal
from shared.store import Range, Store, Writer
from shared.store.retry import transact

TICKETS_C = "stream_tickets"
SWEEP = 50  # expired tickets removed per issue, so unused ones do not pile up


def _key(ticket: str) -> str:
    """Stored by digest: a copy of the store holds no usable ticket."""
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue(store: Store, *, session: Session, ttl_s: float) -> str:
    ticket = secrets.token_urlsafe(32)
    now = time.time()

    async def put(tx: Writer) -> None:
        expired = await tx.find(TICKETS_C, where={"expires_at": Range(lt=now)}, limit=SWEEP)
        for doc in expired:
            await tx.delete(TICKETS_C, doc["id"])
        await tx.insert(
            TICKETS_C,
            {
                "id": _key(ticket),
                "principal": session.principal.model_dump(mode="json"),
                "version": session.version,
                "expires_at": now + ttl_s,
            },
        )

    await transact(store, put)
    return ticket


async def redeem(request: Request, ticket: str) -> Principal:
    """The ticket's principal; the ticket is gone afterwards, whatever the outcome."""
    store: Store = request.app.state.store
    key = _key(ticket)

    async def take(tx: Writer) -> dict[str, object] | None:
        doc = await tx.get(TICKETS_C, key)
        if doc is not None:
            await tx.delete(TICKETS_C, key)
        return doc

    doc = await transact(store, take)
    if doc is None or time.time() >= float(doc["expires_at"]):  # type: ignore[arg-type]
        raise HTTPException(401, "stream ticket unknown, used or expired", headers=UNAUTHORIZED)
    session = Session(Principal.model_validate(doc["principal"]), int(doc["version"]))  # type: ignore[call-overload]
    if not await still_active(request, session):
        raise HTTPException(401, "account inactive or changed; log in again", headers=UNAUTHORIZED)
    return session.principal
